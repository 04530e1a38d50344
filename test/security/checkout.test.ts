/**
 * Checkout abuse (README "Checkout abuse policy"), by OWASP API Security Top 10 2023 item. Real CartDOs, StockDOs,
 * Postgres, the Workers Rate Limiting binding as Miniflare simulates it, and the Stripe fake.
 * API6: one client cannot hold a SKU's stock (per-customer and per-IP hold caps, unpaid-order caps, short holds,
 * the merchant's max per customer). API4: checkout rate limits per IP and per cart, failing closed; a sold-out SKU
 * answers 409 with Redis down.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { ADMIN_TOKEN, DEAD_PORT, call, json, nextIp, sql } from "../worker/helpers";
import type { ErrorBody } from "../worker/helpers";
import { ADDRESS, add, deliver, eventsFor, guestCart, orderRow, pay, setStock } from "../worker/shop";
import type { Cart, CheckoutBody } from "../worker/shop";
import { registerAndLogin } from "../worker/accounts-helpers";
import { selfFetch } from "../worker/conformance";

const PASSWORD = "vK9#qL2$wX7!zR4p-secure";
const stock = (sku: string) => env.STOCK_DO.getByName(`sku:${sku}`).snapshot(sku);
const body = (email = "hoarder@example.com") => JSON.stringify({ email, shipping_address: ADDRESS });

/** A checkout as its own incoming request from `ip` (concurrent requests really run side by side). */
function checkoutFrom(cart: Cart, ip: string, key = `sec-${crypto.randomUUID()}`): Promise<Response> {
  return selfFetch("http://nexusbooks.test/v1/checkout", {
    method: "POST",
    headers: { ...cart.headers, "content-type": "application/json", "cf-connecting-ip": ip, "idempotency-key": key },
    body: body(),
  });
}

async function status(res: Response): Promise<{ status: number; code: string | null }> {
  const b = await json<Partial<ErrorBody>>(res);
  return { status: res.status, code: b.error?.code ?? null };
}

async function newUser(): Promise<{ token: string; cart: Cart }> {
  // Sign-up answers a uniform 202 (no session); the account then signs in.
  const { body: session } = await registerAndLogin(`hoard-${crypto.randomUUID().slice(0, 8)}@example.com`, PASSWORD);
  const token = session.access_token;
  return { token, cart: { token: null, headers: { authorization: `Bearer ${token}` } } };
}

/**
 * An address of its own for one scenario, so scenarios (and earlier runs, whose unpaid orders still count against
 * an address for the hold time) do not share per-IP counters.
 */
const freshIp = (): string => `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`;

describe("API6 Unrestricted Access to Sensitive Business Flows: stock hoarding", () => {
  it("one IP with twelve guest carts of 10 units each ends holding at most the per-IP cap (20), not the whole stock", async () => {
    const sku = "BK00077-PB";
    await setStock(sku, 113);
    const carts = await Promise.all(Array.from({ length: 12 }, () => guestCart()));
    for (const cart of carts) await add(cart, sku, 10);
    const ip = freshIp();
    const answers = await Promise.all(carts.map(async (cart) => status(await checkoutFrom(cart, ip))));
    const won = answers.filter((a) => a.status === 201);
    expect(won.length).toBeLessThanOrEqual(2);
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    for (const a of answers.filter((x) => x.status !== 201)) expect(["PURCHASE_LIMIT", "RATE_LIMITED", "UNPAID_ORDER_LIMIT"]).toContain(a.code);
    const snap = await stock(sku);
    expect(snap.held).toBeLessThanOrEqual(20);
    expect(snap.available).toBeGreaterThanOrEqual(113 - 20);
  });

  it("a signed-in account holds at most CHECKOUT_MAX_UNITS_PER_CUSTOMER (10) of one SKU, from any number of IPs", async () => {
    const sku = "BK00079-PB";
    const { cart } = await newUser();
    await add(cart, sku, 10);
    expect((await checkoutFrom(cart, nextIp())).status).toBe(201);
    // The cart is ordered; the next add starts a fresh cart, whose checkout would hold 10 more.
    await add(cart, sku, 1);
    const again = await status(await checkoutFrom(cart, nextIp()));
    expect(again).toEqual({ status: 409, code: "PURCHASE_LIMIT" });
    expect((await stock(sku)).held).toBe(10);
  });

  it("concurrent unpaid orders: five concurrent guest checkouts from one IP → exactly 3 orders (per-IP cap), the rest 409 and their holds back", async () => {
    const skus = ["BK00082-PB", "BK00083-PB", "BK00084-PB", "BK00085-PB", "BK00087-PB"];
    const before = await Promise.all(skus.map(stock));
    const carts = await Promise.all(skus.map(() => guestCart()));
    await Promise.all(carts.map((cart, n) => add(cart, skus[n] ?? "", 1)));
    const ip = freshIp();
    const answers = await Promise.all(carts.map(async (cart) => status(await checkoutFrom(cart, ip))));
    expect(answers.filter((a) => a.status === 201), JSON.stringify(answers)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 409 && a.code === "UNPAID_ORDER_LIMIT")).toHaveLength(2);
    const after = await Promise.all(skus.map(stock));
    const heldNow = after.reduce((n, s, i) => n + s.held - (before[i]?.held ?? 0), 0);
    expect(heldNow).toBe(3);
  });

  it("concurrent unpaid orders per account: the third order while two await payment is refused, from a new IP too", async () => {
    const { cart } = await newUser();
    const placed: string[] = [];
    for (const sku of ["BK00070-PB", "BK00072-PB"]) {
      await add(cart, sku, 1);
      const res = await checkoutFrom(cart, nextIp());
      expect(res.status).toBe(201);
      placed.push((await json<CheckoutBody>(res)).data.order.id);
    }
    await add(cart, "BK00073-PB", 1);
    const heldBefore = (await stock("BK00073-PB")).held;
    expect(await status(await checkoutFrom(cart, nextIp()))).toEqual({ status: 409, code: "UNPAID_ORDER_LIMIT" });
    expect((await stock("BK00073-PB")).held).toBe(heldBefore);
    // Paying one frees a slot.
    const [first] = placed;
    const pi = (await orderRow(first ?? ""))?.payment_intent_id ?? "";
    expect(await pay(pi)).toBe("succeeded");
    const succeeded = (await eventsFor(pi)).find((e) => e.type === "payment_intent.succeeded");
    if (!succeeded) throw new Error("no payment_intent.succeeded event");
    expect((await deliver(succeeded)).status).toBe(200);
    const deadline = Date.now() + 30_000;
    while ((await orderRow(first ?? ""))?.status !== "paid" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect((await checkoutFrom(cart, nextIp())).status).toBe(201);
  });

  it("an unpaid checkout holds stock for CHECKOUT_HOLD_SECONDS (300 s), and 'payment started' extends nothing unless Stripe says a payment is in progress", async () => {
    const cart = await guestCart();
    await add(cart, "BK00075-PB", 1);
    const t0 = Date.now();
    const res = await checkoutFrom(cart, nextIp());
    expect(res.status).toBe(201);
    const order = (await json<CheckoutBody>(res)).data.order;
    const holdMs = new Date(order.holds_expire_at).getTime() - t0;
    expect(holdMs).toBeGreaterThan(290_000);
    expect(holdMs).toBeLessThan(310_000);
    const started = (c: Cart, orderId: string) =>
      selfFetch("http://nexusbooks.test/v1/checkout/payment-started", {
        method: "POST",
        headers: { ...c.headers, "content-type": "application/json", "cf-connecting-ip": nextIp() },
        body: JSON.stringify({ order_id: orderId }),
      });
    // No payment attempted yet: the short hold stays.
    expect(await status(await started(cart, order.id))).toEqual({ status: 409, code: "PAYMENT_NOT_STARTED" });
    const [row] = await sql<{ holds_expire_at: string }>("primary", "select holds_expire_at from orders where id = $1", [order.id]);
    expect(new Date(row?.holds_expire_at ?? 0).toISOString()).toBe(order.holds_expire_at);
    // Another cart's order is a 404; unknown fields are a 400.
    const other = await guestCart();
    expect(await status(await started(other, order.id))).toEqual({ status: 404, code: "ORDER_NOT_FOUND" });
    const extra = await selfFetch("http://nexusbooks.test/v1/checkout/payment-started", {
      method: "POST",
      headers: { ...cart.headers, "content-type": "application/json", "cf-connecting-ip": nextIp() },
      body: JSON.stringify({ order_id: order.id, hold_seconds: 3600 }),
    });
    expect(extra.status).toBe(400);
  });

  it("the merchant's max per customer (staff route, audited) is met at add-to-cart and at checkout, counting units already bought", async () => {
    const sku = "BK00076-PB";
    const patch = (auth: Record<string, string>, payload: unknown) =>
      call(`/v1/admin/variants/${sku}/sale-limit`, { method: "PATCH", headers: { ...auth, "content-type": "application/json", "cf-connecting-ip": nextIp() }, body: JSON.stringify(payload) });
    const { token, cart } = await newUser();
    expect((await patch({ authorization: `Bearer ${token}` }, { max_per_customer: 2 })).status).toBeGreaterThanOrEqual(401);
    expect((await patch({ authorization: `Bearer ${ADMIN_TOKEN}` }, { max_per_customer: 0 })).status).toBe(400);
    expect((await patch({ authorization: `Bearer ${ADMIN_TOKEN}` }, { max_per_customer: 2, extra: 1 })).status).toBe(400);
    const set = await patch({ authorization: `Bearer ${ADMIN_TOKEN}` }, { max_per_customer: 2 });
    expect(set.status).toBe(200);
    const audit = await sql<{ after: { max_per_customer: number } }>("primary", "select after from audit_log where action = 'variant.max_per_customer' and target_id = $1 order by id desc limit 1", [sku]);
    expect(audit[0]?.after).toEqual({ max_per_customer: 2 });

    const tooMany = await call("/v1/cart/items", { method: "POST", headers: { ...cart.headers, "content-type": "application/json", "cf-connecting-ip": nextIp() }, body: JSON.stringify({ sku, quantity: 3 }) });
    expect(await status(tooMany)).toEqual({ status: 422, code: "QUANTITY_LIMIT" });
    await add(cart, sku, 2);
    const res = await checkoutFrom(cart, nextIp());
    expect(res.status).toBe(201);
    const orderId = (await json<CheckoutBody>(res)).data.order.id;
    const pi = (await orderRow(orderId))?.payment_intent_id ?? "";
    expect(await pay(pi)).toBe("succeeded");
    const succeeded = (await eventsFor(pi)).find((e) => e.type === "payment_intent.succeeded");
    if (!succeeded) throw new Error("no payment_intent.succeeded event");
    expect((await deliver(succeeded)).status).toBe(200);
    const deadline = Date.now() + 30_000;
    while ((await stock(sku)).held > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    // Two bought: one more is over the sale limit even though nothing is held.
    await add(cart, sku, 1);
    const more = await checkoutFrom(cart, nextIp());
    const refused = await json<ErrorBody>(more);
    expect(more.status).toBe(409);
    expect(refused.error.code).toBe("PURCHASE_LIMIT");
    expect(refused.error.details).toMatchObject({ skus: [{ sku, scope: "max_per_customer", max: 2 }] });
    expect((await patch({ authorization: `Bearer ${ADMIN_TOKEN}` }, { max_per_customer: null })).status).toBe(200);
  });
});

describe("API4 Unrestricted Resource Consumption: checkout rate limits", () => {
  // The binding counts in fixed windows: a run may straddle a window's end once, so 2 × limit + 1 attempts must meet
  // the limit at least once, and the first `limit` never do.
  it("per IP: more than 10 checkouts from one address within a minute are 429 with Retry-After, whatever the cart", async () => {
    const ip = freshIp();
    const answers: { status: number; code: string | null; retryAfter: string | null }[] = [];
    for (let i = 0; i < 21; i++) {
      const cart = await guestCart();
      const res = await checkoutFrom(cart, ip);
      answers.push({ ...(await status(res)), retryAfter: res.headers.get("retry-after") });
    }
    expect(answers.slice(0, 10).every((a) => a.code === "CART_EMPTY")).toBe(true);
    const limited = answers.filter((a) => a.code === "RATE_LIMITED");
    expect(limited.length).toBeGreaterThanOrEqual(1);
    for (const a of limited) expect(a).toMatchObject({ status: 429, retryAfter: "60" });
  });

  it("per IP counts the address the deployment trusts (CLIENT_IP_HEADER): rotating CF-Connecting-IP gains nothing", async () => {
    const trusted = freshIp();
    const codes: (string | null)[] = [];
    for (let i = 0; i < 21; i++) {
      const cart = await guestCart();
      const res = await call(
        "/v1/checkout",
        { method: "POST", headers: { ...cart.headers, "content-type": "application/json", "x-real-ip": trusted, "cf-connecting-ip": nextIp(), "idempotency-key": `trust-${crypto.randomUUID()}` }, body: body() },
        { CLIENT_IP_HEADER: "x-real-ip" },
      );
      codes.push((await status(res)).code);
    }
    expect(codes.slice(0, 10).every((c) => c === "CART_EMPTY")).toBe(true);
    expect(codes).toContain("RATE_LIMITED");
  });

  it("per cart: more than 30 checkouts of one cart within a minute are 429, from any address", async () => {
    const cart = await guestCart();
    const codes: (string | null)[] = [];
    for (let i = 0; i < 61; i++) codes.push((await status(await checkoutFrom(cart, nextIp()))).code);
    expect(codes.slice(0, 30).every((c) => c === "CART_EMPTY")).toBe(true);
    expect(codes).toContain("RATE_LIMITED");
  });

  it("fails closed: when the rate-limit binding throws, checkout is 503 RATE_LIMIT_UNAVAILABLE and holds nothing", async () => {
    const sku = "BK00080-PB";
    const cart = await guestCart();
    await add(cart, sku, 1);
    const before = await stock(sku);
    const broken = { limit: () => Promise.reject(new Error("rate limiter unreachable")) };
    const res = await call(
      "/v1/checkout",
      { method: "POST", headers: { ...cart.headers, "content-type": "application/json", "cf-connecting-ip": nextIp(), "idempotency-key": `closed-${crypto.randomUUID()}` }, body: body() },
      { CHECKOUT_IP_LIMITER: broken } as unknown as Partial<Record<keyof Env, string>>,
    );
    expect(await status(res)).toEqual({ status: 503, code: "RATE_LIMIT_UNAVAILABLE" });
    expect((await stock(sku)).held).toBe(before.held);
  });

  it("a sold-out SKU answers a clean 409 OUT_OF_STOCK even with Redis unreachable (no Redis round trip on the way)", async () => {
    const sku = "BK00086-PB";
    await setStock(sku, 1);
    const winner = await guestCart();
    const loser = await guestCart();
    await add(winner, sku, 1);
    await add(loser, sku, 1);
    expect((await checkoutFrom(winner, nextIp())).status).toBe(201);
    const res = await call(
      "/v1/checkout",
      { method: "POST", headers: { ...loser.headers, "content-type": "application/json", "cf-connecting-ip": nextIp(), "idempotency-key": `soldout-${crypto.randomUUID()}` }, body: body() },
      { UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${DEAD_PORT}` },
    );
    expect(await status(res)).toEqual({ status: 409, code: "OUT_OF_STOCK" });
  });
});
