/**
 * The checkout saga end to end with real CartDOs, StockDOs, Postgres and queues; Stripe is the local fake
 * (dev/stripe-fake.ts, which follows Stripe's API), because Stripe's servers cannot run here.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { json, sql, waitFor } from "./helpers";
import type { ErrorBody } from "./helpers";
import { ADDRESS, add, cartCall, checkout, checkoutAsRequest, deliver, eventsFor, guestCart, orderRow, pay, setStock, stripe } from "./shop";
import type { Cart, CheckoutBody } from "./shop";
import { newGuestCart } from "../../workers/cart/token";
import { checkoutWith } from "./checkout-helpers";
import type { CheckoutOutcome, VariantInfo } from "../../workers/cart/types";
import { statusOf } from "../../workers/platform/error-codes";

const stock = (sku: string) => env.STOCK_DO.getByName(`sku:${sku}`).snapshot(sku);

describe("checkout", () => {
  it("re-prices on the server, computes totals, takes holds and creates the order and one PaymentIntent; a repeat replays", async () => {
    const cart = await guestCart();
    await add(cart, "BK00009-PB", 2);
    const before = await stock("BK00009-PB");
    const [price] = await sql<{ price: number }>("primary", "select coalesce(v.price_override, p.base_price) as price from variants v join products p on p.id = v.product_id where v.sku = 'BK00009-PB'");
    const unit = price?.price ?? 0;

    const res = await checkout(cart, "key-happy-path-1");
    expect(res.status).toBe(201);
    const body = await json<CheckoutBody>(res);
    const subtotal = unit * 2;
    const tax = Math.floor((subtotal * 725 + 5000) / 10000);
    const shipping = subtotal >= 3500 ? 0 : 499;
    expect(body.data.order).toMatchObject({ status: "pending_payment", subtotal, tax_total: tax, shipping_total: shipping, grand_total: subtotal + tax + shipping });
    expect(body.data.payment.client_secret).toMatch(/^pi_\w+_secret_/);
    expect((await stock("BK00009-PB")).held).toBe(before.held + 2);
    const row = await orderRow(body.data.order.id);
    expect(row).toMatchObject({ status: "pending_payment", payment_intent_id: body.data.payment.payment_intent_id });
    const pi = await stripe<{ amount: number; metadata: { order_id: string } }>(`/v1/payment_intents/${body.data.payment.payment_intent_id}`);
    expect(pi.body).toMatchObject({ amount: subtotal + tax + shipping, metadata: { order_id: body.data.order.id } });
    const history = await sql<{ to_status: string }>("primary", "select to_status from order_history where order_id = $1", [body.data.order.id]);
    expect(history.map((h) => h.to_status)).toEqual(["pending_payment"]);

    const again = await checkout(cart, "key-happy-path-1");
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await json<CheckoutBody>(again)).data.order.id).toBe(body.data.order.id);
    expect((await stock("BK00009-PB")).held).toBe(before.held + 2);

    const otherBody = await checkout(cart, "key-happy-path-1", { email: "else@example.com", shipping_address: ADDRESS });
    expect(otherBody.status).toBe(422);
    expect((await json<ErrorBody>(otherBody)).error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const otherKey = await checkout(cart, "key-happy-path-2");
    expect(otherKey.status).toBe(409);
    expect((await json<ErrorBody>(otherKey)).error.code).toBe("CART_ALREADY_ORDERED");

    // The next change starts a fresh cart.
    await add(cart, "BK00009-PB", 1);
    const fresh = await json<{ data: { status: string; lines: unknown[]; order_id: string | null } }>(await cartCall(cart, "/v1/cart"));
    expect(fresh.data).toMatchObject({ status: "open", order_id: null });
    expect(fresh.data.lines).toHaveLength(1);
  });

  it("ignores nothing silently: client prices, totals and statuses are rejected, the key is required, and nothing changes", async () => {
    const cart = await guestCart();
    await add(cart, "BK00009-PB", 1);
    const before = await stock("BK00009-PB");
    for (const extra of [{ grand_total: 1 }, { status: "paid" }, { lines: [{ sku: "BK00009-PB", unit_price: 1 }] }]) {
      const res = await checkout(cart, `bad-${crypto.randomUUID()}`, { email: "x@example.com", shipping_address: ADDRESS, ...extra });
      expect(res.status).toBe(400);
      expect((await json<ErrorBody>(res)).error.code).toBe("UNKNOWN_FIELD");
    }
    const noKey = await cartCall(cart, "/v1/checkout", "POST", { email: "x@example.com", shipping_address: ADDRESS });
    expect(noKey.status).toBe(400);
    expect((await json<ErrorBody>(noKey)).error.code).toBe("IDEMPOTENCY_KEY_REQUIRED");
    const noEmail = await checkout(cart, "no-email-key-1", { shipping_address: ADDRESS });
    expect(noEmail.status).toBe(422);
    expect((await json<ErrorBody>(noEmail)).error.code).toBe("EMAIL_REQUIRED");
    const badAddress = await checkout(cart, "bad-address-1", { email: "x@example.com", shipping_address: { ...ADDRESS, country: "USA" } });
    expect(badAddress.status).toBe(400);
    expect((await stock("BK00009-PB")).held).toBe(before.held);
    const view = await json<{ data: { status: string } }>(await cartCall(cart, "/v1/cart"));
    expect(view.data.status).toBe("open");
  });

  it("20 parallel checkouts of one cart with the same key make 1 order and 1 PaymentIntent", async () => {
    const cart = await guestCart();
    await add(cart, "BK00015-PB", 1);
    const results = await Promise.all(Array.from({ length: 20 }, () => checkoutAsRequest(cart, "same-key-parallel-1")));
    const bodies = await Promise.all(results.map((r) => json<CheckoutBody>(r)));
    expect(results.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    const ids = new Set(bodies.map((b) => b.data.order.id));
    const pis = new Set(bodies.map((b) => b.data.payment.payment_intent_id));
    expect(ids.size).toBe(1);
    expect(pis.size).toBe(1);
    const [pi] = [...pis];
    const created = (await eventsFor(pi ?? "")).filter((e) => e.type === "payment_intent.created");
    expect(created).toHaveLength(1);
    const cartId = (cart.token ?? "").split(".")[0];
    expect(await sql("primary", "select id from orders where cart_id = $1", [cartId])).toHaveLength(1);
  });

  it("20 parallel checkouts of one cart with different keys make 1 order; the rest are 409 CART_LOCKED/CART_ALREADY_ORDERED", async () => {
    const cart = await guestCart();
    await add(cart, "BK00015-PB", 1);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => checkoutAsRequest(cart, `different-key-${i}-${crypto.randomUUID()}`)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const refused = await Promise.all(results.filter((r) => r.status !== 201).map(async (r) => ({ status: r.status, code: (await json<ErrorBody>(r)).error.code })));
    expect(refused).toHaveLength(19);
    for (const r of refused) {
      expect(r.status).toBe(409);
      expect(["CART_LOCKED", "CART_ALREADY_ORDERED"]).toContain(r.code);
    }
    const cartId = (cart.token ?? "").split(".")[0];
    expect(await sql("primary", "select id from orders where cart_id = $1", [cartId])).toHaveLength(1);
  });
});

/**
 * `n` guest carts holding one unit of `sku`, set up straight through the CartDO (the API path of carts is covered in
 * cart.test.ts; here only the checkouts must go through HTTP, all at once).
 */
async function buyers(sku: string, n: number): Promise<Cart[]> {
  const [variant] = await sql<VariantInfo>(
    "primary",
    `select v.sku, v.id as "variantId", v.product_id as "productId", p.name as title, p.slug, coalesce(v.attributes->>'format', v.name) as format,
       coalesce(v.price_override, p.base_price) as "unitPrice", p.currency, true as purchasable
     from variants v join products p on p.id = v.product_id where v.sku = $1`,
    [sku],
  );
  if (!variant) throw new Error(`no variant ${sku}`);
  const carts: Cart[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, async () => {
        const { cartId, token } = await newGuestCart(env.COOKIE_SECRET);
        const stub = env.CART_DO.getByName(`cart:${cartId}`);
        await stub.create(cartId, null);
        const added = await stub.addItem(cartId, { ...variant, variantId: Number(variant.variantId), productId: Number(variant.productId) }, 1);
        if (!added.ok) throw new Error(`add failed: ${JSON.stringify(added)}`);
        return { token, headers: { "x-cart-token": token } };
      }),
    );
    carts.push(...batch);
  }
  return carts;
}

/**
 * A checkout without the HTTP layer, as the route makes it. The 1,000-way test drives the saga this way:
 * inside the test runtime all requests share one thread, and the HTTP layer in front (validation, the Redis rate
 * limit) is proven by the other tests; the bench drives the same flash sale over HTTP against `wrangler dev`.
 */
const HOT_STOCK = 25;
const HOT_BUYERS = 250;

/** The checkout as the route runs it (CartDO lock, saga in the Worker), without the HTTP layer in front. */
const sagaCheckout = (cart: Cart, key: string): Promise<CheckoutOutcome> => checkoutWith(cart, key);

describe("no oversell", () => {
  // The 1,000 buyers for 100 units runs over HTTP against a wrangler dev server in test/http/flash-sale.test.ts:
  // inside this runtime every Durable Object shares one thread and a thousand carts alone outlast the suite budget.
  it(`hot SKU: stock ${HOT_STOCK}, ${HOT_BUYERS} concurrent checkouts → ${HOT_STOCK} orders paid, the rest clean 409s, on_hand 0, ledger −${HOT_STOCK}`, async () => {
    const sku = "BK00030-PB";
    await setStock(sku, HOT_STOCK);
    await sql("primary", "delete from inventory_movements where sku = $1 and reason = 'sale'", [sku]);
    const carts = await buyers(sku, HOT_BUYERS);
    const t0 = Date.now();
    const results = await Promise.all(carts.map((c, i) => sagaCheckout(c, `flash-${i}-${crypto.randomUUID()}`)));
    console.log(`hot SKU: ${HOT_BUYERS} concurrent checkouts in ${Date.now() - t0} ms`);
    const won = results.filter((r) => r.ok);
    const lost = results.filter((r) => !r.ok);
    expect(won).toHaveLength(HOT_STOCK);
    expect(lost).toHaveLength(HOT_BUYERS - HOT_STOCK);
    for (const r of lost) expect(r.ok ? r : { ...r, status: statusOf(r.code) }).toMatchObject({ status: 409, code: "OUT_OF_STOCK", details: { skus: [{ sku, requested: 1, available: 0 }] } });
    expect(await stock(sku)).toMatchObject({ onHand: HOT_STOCK, held: HOT_STOCK, available: 0 });

    const orders = won.map((r) => ({ data: r }));
    for (let i = 0; i < orders.length; i += 25) {
      await Promise.all(
        orders.slice(i, i + 25).map(async (o) => {
          expect(await pay(o.data.payment.payment_intent_id)).toBe("succeeded");
          const succeeded = (await eventsFor(o.data.payment.payment_intent_id)).find((e) => e.type === "payment_intent.succeeded");
          if (!succeeded) throw new Error("no succeeded event");
          expect((await deliver(succeeded)).status).toBe(200);
        }),
      );
    }
    const ids = orders.map((o) => o.data.order.id);
    await waitFor("all winners paid", async () => (await sql<{ n: string }>("primary", "select count(*) as n from orders where id = any($1::uuid[]) and status = 'paid'", [ids]))[0]?.n, (n) => Number(n) === HOT_STOCK);
    expect(await stock(sku)).toMatchObject({ onHand: 0, held: 0, available: 0 });
    const ledger = await waitFor(
      "the sales ledger in Postgres",
      async () => (await sql<{ sum: string | null; on_hand: number }>("primary", "select (select sum(delta) from inventory_movements where sku = $1 and reason = 'sale') as sum, (select on_hand from inventory where sku = $1) as on_hand", [sku]))[0],
      (r) => Number(r?.sum) === -HOT_STOCK,
    );
    expect(ledger?.on_hand).toBe(0);
  }, 240_000);

  it("stock 1 with 50 buyers → exactly 1 order", async () => {
    const sku = "BK00031-PB";
    await setStock(sku, 1);
    const carts = await buyers(sku, 50);
    const results = await Promise.all(carts.map((c, i) => checkoutAsRequest(c, `last-one-${i}-${crypto.randomUUID()}`)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const refused = await Promise.all(results.filter((r) => r.status !== 201).map(async (r) => `${r.status} ${(await json<ErrorBody>(r)).error.code}`));
    expect(refused).toEqual(Array.from({ length: 49 }, () => "409 OUT_OF_STOCK"));
    expect(await stock(sku)).toMatchObject({ held: 1, available: 0 });
  }, 60_000);
});
