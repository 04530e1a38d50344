/**
 * OWASP API Security Top 10 (2023) for the platform: configuration (API8), resource consumption of error answers
 * (API4), and input handling that must be a clear 400 rather than a 500 (control characters, crafted cursors,
 * addresses that would dodge tax).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { ADMIN_TOKEN, call, deployedEnv, json, nextIp, postJson } from "../worker/helpers";
import type { ErrorBody } from "../worker/helpers";
import { ADDRESS, add, checkout, guestCart, setStock } from "../worker/shop";
import { ConfigError, getConfig } from "../../workers/platform/config";
import { clientIpFrom } from "../../workers/platform/client-ip";

beforeAll(async () => {
  await setStock("BK00074-PB", 50);
});

const errorOf = async (res: Response): Promise<ErrorBody["error"]> => (await json<ErrorBody>(res)).error;
const b64url = (v: unknown): string => btoa(JSON.stringify(v)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

describe("API8 Security Misconfiguration", () => {
  it("a configuration problem outside development/test answers CONFIG_INVALID and the request id only", async () => {
    for (const environment of ["staging", "production"] as const) {
      const res = await call("/healthz", {}, { ...deployedEnv(environment), DATABASE_URL: undefined as unknown as string, COOKIE_SECRET: "short" });
      expect(res.status).toBe(500);
      const text = await res.text();
      const body = JSON.parse(text) as ErrorBody;
      expect(body.error.code).toBe("CONFIG_INVALID");
      expect(body.error.details).toBeNull();
      expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
      expect(text).not.toContain("DATABASE_URL");
      expect(text).not.toContain("COOKIE_SECRET");
    }
    // A developer's own stack still names the problem.
    const dev = await call("/healthz", {}, { DATABASE_URL: undefined as unknown as string });
    expect((await errorOf(dev)).message).toContain("DATABASE_URL is missing");
  });

  it("refuses every published example secret outside development and test", () => {
    const names = ["ADMIN_API_TOKEN", "COOKIE_SECRET", "JWT_KEYS", "PII_KEYS", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "UPSTASH_REDIS_REST_TOKEN"] as const;
    for (const environment of ["staging", "production"] as const) {
      const clean = { ...env, ...deployedEnv(environment) } as Env;
      expect(() => getConfig(clean)).not.toThrow();
      for (const name of names) {
        // The test bindings hold exactly the local example values.
        const copied = { ...clean, [name]: (env as unknown as Record<string, string>)[name] };
        let problems: string[] = [];
        try {
          getConfig(copied);
        } catch (err) {
          if (err instanceof ConfigError) problems = err.problems;
        }
        expect(problems.join(" "), `${environment} ${name}`).toContain(name);
      }
      // An example key hidden among real ones in a rotation list is still refused.
      const rotated = { ...clean, JWT_KEYS: `${(clean as unknown as Record<string, string>).JWT_KEYS},${env.JWT_KEYS}` };
      expect(() => getConfig(rotated)).toThrow(/JWT_KEYS/);
    }
    // The local stack itself keeps working with them.
    expect(() => getConfig(env)).not.toThrow();
  });

  it("a copied example JWT key cannot open the admin in production: the request fails closed", async () => {
    const res = await call("/v1/admin/dead-letters", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, { ...deployedEnv("production"), ADMIN_API_TOKEN: ADMIN_TOKEN });
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe("CONFIG_INVALID");
  });

  it("in production the /dev routes do not exist: 404 before validation, and never listed in a 405", async () => {
    const prod = deployedEnv("production");
    const probes: [string, RequestInit][] = [
      ["/dev/mailbox?bogus=1", {}],
      ["/dev/db/ping?q=select", {}],
      ["/dev/orders/not-a-uuid/simulate-payment", { method: "POST", body: "{", headers: { "content-type": "application/json" } }],
      ["/dev/stock/bad sku/bench?n=abc", { method: "POST" }],
      ["/dev/mailbox", { method: "DELETE" }],
      ["/dev/orders/00000000-0000-4000-8000-000000000000/simulate-payment", { method: "GET" }],
    ];
    for (const [path, init] of probes) {
      const res = await call(path, init, prod);
      expect(res.status, path).toBe(404);
      expect((await errorOf(res)).code).toBe("ROUTE_NOT_FOUND");
      expect(res.headers.get("allow")).toBeNull();
    }
    // In test they exist (and validate).
    expect((await call("/dev/db/ping?q=select")).status).toBe(400);
  });

  it("CORS: the API's own headers are allowed and exposed for allowed origins; others get no CORS headers, no credentials", async () => {
    const pre = await call("/v1/cart/items", {
      method: "OPTIONS",
      headers: { origin: "http://localhost:3000", "access-control-request-method": "POST", "access-control-request-headers": "x-cart-token,x-csrf-token,x-order-token,idempotency-key" },
    });
    expect(pre.status).toBe(204);
    const allowHeaders = (pre.headers.get("access-control-allow-headers") ?? "").toLowerCase();
    for (const h of ["x-cart-token", "x-csrf-token", "x-order-token", "idempotency-key", "content-type", "authorization"]) expect(allowHeaders).toContain(h);
    expect(pre.headers.get("access-control-allow-credentials")).toBe("true");

    const get = await call("/healthz", { headers: { origin: "http://localhost:3000" } });
    const exposed = (get.headers.get("access-control-expose-headers") ?? "").toLowerCase();
    for (const h of ["idempotent-replayed", "allow", "x-request-id", "retry-after"]) expect(exposed).toContain(h);

    for (const origin of ["https://evil.example", "null", undefined]) {
      const headers: Record<string, string> = { "access-control-request-method": "POST" };
      if (origin) headers.origin = origin;
      for (const res of [await call("/v1/cart/items", { method: "OPTIONS", headers }), await call("/healthz", origin ? { headers: { origin } } : {})]) {
        expect(res.headers.get("access-control-allow-origin")).toBeNull();
        expect(res.headers.get("access-control-allow-credentials")).toBeNull();
        expect(res.headers.get("access-control-allow-headers")).toBeNull();
      }
    }
  });

  it("per-IP identity comes only from the configured header (CLIENT_IP_HEADER)", () => {
    const h = new Headers({ "cf-connecting-ip": "203.0.113.7", "x-forwarded-for": "6.6.6.6, 198.51.100.9", "x-real-ip": "2001:DB8::1" });
    expect(clientIpFrom(h, "cf-connecting-ip")).toBe("203.0.113.7");
    // Behind another proxy: its appended (last) entry, never what the client wrote before it.
    expect(clientIpFrom(h, "x-forwarded-for")).toBe("198.51.100.9");
    expect(clientIpFrom(h, "x-real-ip")).toBe("2001:db8::1");
    expect(clientIpFrom(h, null)).toBe("unknown");
    expect(clientIpFrom(new Headers({ "cf-connecting-ip": "not an ip; drop table" }), "cf-connecting-ip")).toBe("unknown");
    expect(getConfig(env).clientIpHeader).toBe("cf-connecting-ip");
    expect(getConfig({ ...env, CLIENT_IP_HEADER: "none" }).clientIpHeader).toBeNull();
    expect(getConfig({ ...env, CLIENT_IP_HEADER: "X-Real-IP" }).clientIpHeader).toBe("x-real-ip");
    expect(() => getConfig({ ...env, CLIENT_IP_HEADER: "bad header!" })).toThrow(/CLIENT_IP_HEADER/);
  });
});

describe("API4 Unrestricted Resource Consumption: error answers are bounded", () => {
  it("a 12 KB URL of unknown parameters gets a small answer that names each at most once", async () => {
    const params = Array.from({ length: 600 }, (_, i) => `p${i}=${i}`).join("&");
    expect(params.length).toBeGreaterThan(5000);
    const long = `zz${"x".repeat(6000)}=1`;
    const res = await call(`/v1/products?${params}&${long}`);
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(8 * 1024);
    const body = JSON.parse(text) as ErrorBody;
    expect(body.error.code).toBe("UNKNOWN_PARAMETER");
    expect((body.error.details as unknown[]).length).toBeLessThanOrEqual(21);
    expect(text.match(/'p5'/g)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(body.error.message).toMatch(/more/);
  });
});

describe("API3 Broken Object Property Level Authorization: unknown input is refused on every operation", () => {
  it("an unknown query parameter is 400 UNKNOWN_PARAMETER even where the operation takes none, and nothing changes", async () => {
    const cart = await guestCart();
    await add(cart, "BK00074-PB", 1);
    const cases: [string, RequestInit][] = [
      ["/v1/cart?price=0", { headers: cart.headers }],
      ["/v1/cart?debug=1", { method: "DELETE", headers: cart.headers }],
      ["/v1/cart/items?price=1", { method: "POST", headers: { ...cart.headers, "content-type": "application/json" }, body: JSON.stringify({ sku: "BK00074-PB", quantity: 1 }) }],
      ["/v1/cart/items/BK00074-PB?force=true", { method: "DELETE", headers: cart.headers }],
      ["/v1/carts?owner=someone", { method: "POST" }],
      ["/webhooks/stripe?x=1", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }],
    ];
    for (const [path, init] of cases) {
      const res = await call(path, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), "cf-connecting-ip": nextIp() } });
      expect(res.status, path).toBe(400);
      expect((await json<ErrorBody>(res)).error.code, path).toBe("UNKNOWN_PARAMETER");
    }
    const after = await call("/v1/cart", { headers: cart.headers });
    expect((await json<{ data: { item_count: number } }>(after)).data.item_count).toBe(1);
  });
});

describe("API8 Security Misconfiguration: bad input is a 400, never a 500", () => {
  const CONTROL = ["\u0000", "\u0007", "\u001b[31m", "\u007f", "\u0085", "\ud800"];

  it("control characters in sign-up, login and password-reset text", async () => {
    for (const ch of CONTROL) {
      const cases: [string, unknown][] = [
        ["/v1/auth/signup", { email: `nul${crypto.randomUUID().slice(0, 6)}@example.com`, password: "vK9#qL2$wX7!zR4p-secure", name: `Ada${ch}` }],
        ["/v1/auth/signup", { email: `nul${ch}@example.com`, password: "vK9#qL2$wX7!zR4p-secure" }],
        ["/v1/auth/login", { email: `ada${ch}@example.com`, password: "whatever-password" }],
        ["/v1/auth/password-reset/request", { email: `ada${ch}@example.com` }],
      ];
      for (const [path, body] of cases) {
        const res = await postJson(path, body);
        expect(res.status, `${path} ${JSON.stringify(ch)}`).toBe(400);
        const err = await errorOf(res);
        expect(err.request_id).toBeTruthy();
      }
    }
  });

  it("control characters in a checkout address and a staff note (newline and tab allowed in notes)", async () => {
    const cart = await guestCart();
    await add(cart, "BK00074-PB", 1);
    for (const ch of CONTROL) {
      for (const field of ["name", "line1", "line2", "city", "postal_code"] as const) {
        const res = await checkout(cart, `ctl-${crypto.randomUUID()}`, { email: "buyer@example.com", shipping_address: { ...ADDRESS, [field]: `A${ch}B1` } });
        expect(res.status, `${field} ${JSON.stringify(ch)}`).toBe(400);
      }
    }
    const note = (text: string) =>
      call("/v1/admin/orders/00000000-0000-4000-8000-000000000000/status", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ status: "shipped", note: text }),
      });
    expect((await note("line one\u0000")).status).toBe(400);
    expect((await note("line one\r\nline two")).status).toBe(400);
    // A legitimate multi-line note passes validation (and then finds no such order).
    expect((await note("line one\n\tline two")).status).toBe(404);
    const adjust = await call("/v1/admin/inventory/BK00074-PB/adjust", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ delta: 1, reason: "adjustment", note: "box\u0000" }),
    });
    expect(adjust.status).toBe(400);
  });

  it("control characters in query-string and path text", async () => {
    expect((await call("/dev/mailbox?to=a%00b%40example.com")).status).toBe(400);
    expect((await call("/v1/products/by-isbn/978%000")).status).not.toBe(500);
  });

  it("a crafted list cursor (wrong type or out of range for its sort) is 400 INVALID_CURSOR", async () => {
    const cursors = [
      b64url([1, "price_asc", 1e300, 1]),
      b64url([1, "price_asc", -5, 1]),
      b64url([1, "popularity", 1.5, 1]),
      b64url([1, "popularity", 3_000_000_000, 1]),
      b64url([1, "newest", 2020, 2 ** 40]),
      b64url([1, "rating", 1e9, 1]),
    ];
    const sorts = ["price_asc", "price_asc", "popularity", "popularity", "newest", "rating"];
    for (const [i, cursor] of cursors.entries()) {
      const res = await call(`/v1/products?sort=${sorts[i] ?? ""}&cursor=${cursor}`, { headers: { "cf-connecting-ip": nextIp() } });
      expect(res.status, `${sorts[i] ?? ""} ${cursor}`).toBe(400);
      expect((await errorOf(res)).code).toBe("INVALID_CURSOR");
    }
    // A real cursor still pages.
    const first = await json<{ next_cursor: string | null }>(await call("/v1/products?sort=rating&limit=2"));
    if (first.next_cursor) expect((await call(`/v1/products?sort=rating&limit=2&cursor=${first.next_cursor}`)).status).toBe(200);
  });

  it("addresses that would dodge tax: an unassigned country, a US or Canadian address without a valid region", async () => {
    const cart = await guestCart();
    await add(cart, "BK00074-PB", 1);
    const cases = [
      { ...ADDRESS, country: "XX" },
      { ...ADDRESS, country: "ZZ" },
      { ...ADDRESS, country: "KP" },
      { name: "A", line1: "1 Main St", city: "Springfield", postal_code: "90001", country: "US" },
      { ...ADDRESS, region: "ZZ" },
      { name: "A", line1: "1 Main St", city: "Toronto", postal_code: "M5V 2T6", country: "CA" },
      // Found by the fuzzer: a country named like an Object.prototype key was a 500 (the region table's lookup).
      { ...ADDRESS, country: "constructor" },
      { ...ADDRESS, country: "__proto__" },
      { ...ADDRESS, country: "toString", region: "X" },
    ];
    for (const address of cases) {
      const res = await checkout(cart, `addr-${crypto.randomUUID()}`, { email: "buyer@example.com", shipping_address: address });
      expect(res.status, JSON.stringify(address)).toBe(400);
      expect((await errorOf(res)).message).toMatch(/country|region/);
    }
    // A UK address needs no region.
    const ok = await checkout(cart, `addr-${crypto.randomUUID()}`, { email: "buyer@example.com", shipping_address: { name: "A", line1: "1 High St", city: "London", postal_code: "SW1A 1AA", country: "GB" } });
    expect(ok.status).toBe(201);
  });
});
