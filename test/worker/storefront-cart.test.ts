/**
 * The storefront's cart forms: a POST without the browser's CSRF token is 403 and changes nothing; quantities are
 * bounded like the API's (1-1000 by schema, the per-line cap by the cart); cart pages are never cached publicly.
 */
import { expect, it } from "vitest";
import { call, nextIp } from "./helpers";

const SKU = "BK00002-PB";

/** A browser: its cookies (from Set-Cookie), sent back on every request. */
class Browser {
  cookies = new Map<string, string>();
  readonly ip = nextIp();

  async request(path: string, method = "GET", form?: Record<string, string>): Promise<Response> {
    const headers: Record<string, string> = { "cf-connecting-ip": this.ip, cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") };
    if (form) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await call(path, { method, headers, redirect: "manual", ...(form ? { body: new URLSearchParams(form).toString() } : {}) });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...value] = (pair ?? "").split("=");
      if (name) this.cookies.set(name.trim(), value.join("="));
    }
    return res;
  }

  get csrf(): string {
    return this.cookies.get("nb_sf_csrf") ?? "";
  }
}

/** The quantity of the SKU's line as the cart page shows it (null: no line). */
async function shownQuantity(b: Browser): Promise<number | null> {
  const html = await (await b.request("/cart")).text();
  const m = new RegExp(`id="qty-${SKU}"[^>]*value="(\\d+)"`).exec(html);
  return m ? Number(m[1]) : null;
}

it("a POST without a valid CSRF token is 403 and changes nothing; with it, the cart is created and PRG redirects to /cart", async () => {
  const b = new Browser();
  const first = await b.request("/cart");
  expect(first.status).toBe(200);
  expect(first.headers.get("cache-control")).toBe("private, no-store");
  expect(await first.text()).toContain("Your cart is empty.");
  const setCookies = first.headers.getSetCookie().join("\n");
  expect(setCookies).toMatch(/nb_sf_csrf=[^;]+;.*HttpOnly/i);
  expect(setCookies).toMatch(/SameSite=Lax/i);
  expect(b.csrf.length).toBeGreaterThanOrEqual(32);

  const missing = await b.request("/cart/items", "POST", { sku: SKU, quantity: "2" });
  expect(missing.status).toBe(403);
  expect(b.cookies.has("nb_sf_cart")).toBe(false);
  const wrong = await b.request("/cart/items", "POST", { sku: SKU, quantity: "2", csrf_token: "x".repeat(32) });
  expect(wrong.status).toBe(403);
  expect(b.cookies.has("nb_sf_cart")).toBe(false);

  const added = await b.request("/cart/items", "POST", { sku: SKU, quantity: "2", csrf_token: b.csrf });
  expect(added.status).toBe(303);
  expect(added.headers.get("location")).toBe("/cart");
  expect(added.headers.getSetCookie().join("\n")).toMatch(/nb_sf_cart=[^;]+;.*HttpOnly.*SameSite=Lax/i);
  expect(await shownQuantity(b)).toBe(2);

  // A cross-site form carries the cookies but not the token: refused, the line unchanged, not removed.
  expect((await b.request(`/cart/items/${SKU}`, "POST", { quantity: "1" })).status).toBe(403);
  expect((await b.request(`/cart/items/${SKU}/remove`, "POST", {})).status).toBe(403);
  expect((await b.request("/cart/coupon", "POST", { code: "SPRING-10" })).status).toBe(403);
  expect((await b.request("/checkout", "POST", { idempotency_key: "k".repeat(12), email: "a@example.com" })).status).toBe(403);
  expect(await shownQuantity(b)).toBe(2);

  // Another browser's token does not fit this browser's cookie.
  const other = new Browser();
  await other.request("/cart");
  expect((await b.request(`/cart/items/${SKU}`, "POST", { quantity: "1", csrf_token: other.csrf })).status).toBe(403);
  expect(await shownQuantity(b)).toBe(2);

  const changed = await b.request(`/cart/items/${SKU}`, "POST", { quantity: "1", csrf_token: b.csrf });
  expect(changed.status).toBe(303);
  expect(await shownQuantity(b)).toBe(1);
  expect((await b.request(`/cart/items/${SKU}/remove`, "POST", { csrf_token: b.csrf })).status).toBe(303);
  expect(await shownQuantity(b)).toBeNull();
});

it("enforces quantity bounds: 0 and over 1000 are 400, over the per-line cap is a notice, and the line stays as it was", async () => {
  const b = new Browser();
  await b.request("/cart");
  expect((await b.request("/cart/items", "POST", { sku: SKU, quantity: "1", csrf_token: b.csrf })).status).toBe(303);
  for (const quantity of ["0", "-1", "1001", "1.5", "many"]) {
    const res = await b.request(`/cart/items/${SKU}`, "POST", { quantity, csrf_token: b.csrf });
    expect(res.status, quantity).toBe(400);
  }
  expect((await b.request("/cart/items", "POST", { sku: SKU, quantity: "0", csrf_token: b.csrf })).status).toBe(400);
  const over = await b.request(`/cart/items/${SKU}`, "POST", { quantity: "11", csrf_token: b.csrf });
  expect(over.status).toBe(303);
  expect(over.headers.get("location")).toBe("/cart?notice=QUANTITY_LIMIT");
  const html = await (await b.request("/cart?notice=QUANTITY_LIMIT")).text();
  expect(html).toContain("That is more than we sell of one book in one order.");
  expect(html).toMatch(new RegExp(`id="qty-${SKU}"[^>]*max="10"`));
  expect(await shownQuantity(b)).toBe(1);
  // Adding past the cap is refused the same way.
  expect((await b.request("/cart/items", "POST", { sku: SKU, quantity: "10", csrf_token: b.csrf })).headers.get("location")).toBe("/cart?notice=QUANTITY_LIMIT");
  expect(await shownQuantity(b)).toBe(1);
});

it("the book page carries add-to-cart forms with the CSRF token and is never cached publicly", async () => {
  const b = new Browser();
  const res = await b.request("/books/the-hunger-games");
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("private, no-store");
  const html = await res.text();
  expect(html).toContain('action="/cart/items"');
  expect(html).toContain(`name="csrf_token" value="${b.csrf}"`);
});
