/**
 * Checkout's failure paths, each with the status and code the shopper gets, Retry-After where a retry can succeed,
 * what happens to the holds and the order, that no stock is lost and that there is never a second PaymentIntent.
 * The saga runs in the Worker on ports built from the request's env (workers/checkout/saga-ports.ts): a fault is either
 * an env override on a real request (a database or Redis URL on a dead port) or one swapped port (see
 * checkout-helpers.ts for how each fault is made and how real it is).
 */
import { afterEach, describe, expect, it } from "vitest";
import { env, runInDurableObject } from "cloudflare:test";
import { call, json, nextIp, resetHealth, sql } from "./helpers";
import type { ErrorBody } from "./helpers";
import { ADDRESS, add, cartCall, checkout, guestCart, orderRow, setStock } from "./shop";
import type { Cart, CheckoutBody } from "./shop";
import { PRIMARY_DOWN, REDIS_DOWN, cartIdOf, checkoutWith, deadOrders, doError, faultyStock, intentsFor, stripeAnswering, stripeLosingReplies } from "./checkout-helpers";
import type { CartDO } from "../../durable-objects/cart-do";
import type { CartFailure as CheckoutFailure, CheckoutOutcome } from "../../workers/cart/types";
import { statusOf } from "../../workers/platform/error-codes";

const held = async (sku: string): Promise<number> => (await env.STOCK_DO.getByName(`sku:${sku}`).snapshot(sku)).held;
const since = (): number => Math.floor(Date.now() / 1000) - 5;

async function cartWith(items: [string, number][]): Promise<Cart> {
  const cart = await guestCart();
  for (const [sku, qty] of items) await add(cart, sku, qty);
  return cart;
}

async function cartStatus(cart: Cart): Promise<string> {
  return (await json<{ data: { status: string } }>(await cartCall(cart, "/v1/cart"))).data.status;
}

/** The failure, with the HTTP status its code answers with (from the error registry, as the route sends it). */
function failure(o: CheckoutOutcome): CheckoutFailure & { status: number } {
  if (o.ok) throw new Error(`expected a failure, got order ${o.order.id}`);
  return { ...o, status: statusOf(o.code) };
}

const ordersOf = async (cart: Cart): Promise<{ id: string; status: string }[]> => sql("primary", "select id, status from orders where cart_id = $1", [cartIdOf(cart)]);

/** The same key again over HTTP once the fault is gone: the same order, resumed. */
async function resume(cart: Cart, key: string): Promise<CheckoutBody["data"]> {
  const res = await checkout(cart, key);
  expect(res.status).toBe(201);
  return (await json<CheckoutBody>(res)).data;
}

/** POST /v1/checkout with env overrides (a dependency on a dead port). */
function checkoutUnder(cart: Cart, key: string, overrides: Partial<Record<keyof Env, string>>): Promise<Response> {
  return call(
    "/v1/checkout",
    {
      method: "POST",
      headers: { ...cart.headers, "content-type": "application/json", "idempotency-key": key, "cf-connecting-ip": nextIp() },
      body: JSON.stringify({ email: "buyer@example.com", shipping_address: ADDRESS }),
    },
    overrides,
  );
}

afterEach(() => resetHealth());

describe("Postgres down", () => {
  it("at repricing (primary on a dead port): 503 CHECKOUT_UNAVAILABLE with Retry-After, holds released, lock freed; the same key then succeeds", async () => {
    const sku = "BK00100-PB";
    const before = await held(sku);
    const cart2 = await cartWith([[sku, 2]]);
    const down = await checkoutUnder(cart2, "pg-down-pricing-2", PRIMARY_DOWN);
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("5");
    const body = await json<ErrorBody>(down);
    expect(body.error.code).toBe("CHECKOUT_UNAVAILABLE");
    expect(body.error.details).toMatchObject({ stage: "pricing" });
    expect(await held(sku)).toBe(before);
    expect(await cartStatus(cart2)).toBe("open");
    expect(await ordersOf(cart2)).toHaveLength(0);
    resetHealth();
    const ok = await resume(cart2, "pg-down-pricing-2");
    expect(ok.order.status).toBe("pending_payment");
    expect(await held(sku)).toBe(before + 2);
  });

  it("at the order write: 503 CHECKOUT_UNAVAILABLE with Retry-After, the lock kept; the same key resumes the same order, holds not doubled, one PaymentIntent", async () => {
    const sku = "BK00101-PB";
    const before = await held(sku);
    const cart = await cartWith([[sku, 1]]);
    const t0 = since();
    const dead = deadOrders();
    const out = failure(await checkoutWith(cart, "pg-down-write-1", (real) => ({ orders: { ...real.orders, write: dead.port.write } })));
    await dead.db.end();
    expect(out).toMatchObject({ status: 503, code: "CHECKOUT_UNAVAILABLE", retryAfter: 5, details: { stage: "order" } });
    const orderId = (out.details as { order_id: string }).order_id;
    expect(await held(sku)).toBe(before + 1);
    expect(await cartStatus(cart)).toBe("checking_out");
    const other = await checkout(cart, "pg-down-write-other");
    expect(other.status).toBe(409);
    expect((await json<ErrorBody>(other)).error.code).toBe("CART_LOCKED");
    resetHealth();
    const ok = await resume(cart, "pg-down-write-1");
    expect(ok.order.id).toBe(orderId);
    expect(await held(sku)).toBe(before + 1);
    expect(await intentsFor(orderId, t0)).toEqual([ok.payment.payment_intent_id]);
    expect(await ordersOf(cart)).toEqual([{ id: orderId, status: "pending_payment" }]);
  });

  it("for one attempt of the order write (a connection lost under a burst): the idempotent step is tried once more and the checkout succeeds", async () => {
    const sku = "BK00112-PB";
    const before = await held(sku);
    const cart = await cartWith([[sku, 1]]);
    const dead = deadOrders();
    let writes = 0;
    const out = await checkoutWith(cart, "pg-blip-write-1", (real) => ({
      orders: { ...real.orders, write: (o) => (++writes === 1 ? dead.port.write(o) : real.orders.write(o)) },
    }));
    await dead.db.end();
    expect(out.ok).toBe(true);
    expect(writes).toBe(2);
    expect(await held(sku)).toBe(before + 1);
    expect(await ordersOf(cart)).toHaveLength(1);
  });

  it("after the order write (the intent cannot be recorded): 503, the same key resumes with the same PaymentIntent", async () => {
    const sku = "BK00102-PB";
    const before = await held(sku);
    const cart = await cartWith([[sku, 1]]);
    const t0 = since();
    const dead = deadOrders();
    const out = failure(await checkoutWith(cart, "pg-down-after-1", (real) => ({ orders: { ...real.orders, attachPaymentIntent: dead.port.attachPaymentIntent } })));
    await dead.db.end();
    expect(out).toMatchObject({ status: 503, code: "CHECKOUT_UNAVAILABLE", retryAfter: 5, details: { stage: "attach" } });
    const orderId = (out.details as { order_id: string }).order_id;
    expect(await orderRow(orderId)).toMatchObject({ status: "pending_payment", payment_intent_id: null });
    const created = await intentsFor(orderId, t0);
    expect(created).toHaveLength(1);
    resetHealth();
    const ok = await resume(cart, "pg-down-after-1");
    expect(ok.order.id).toBe(orderId);
    expect(ok.payment.payment_intent_id).toBe(created[0]);
    expect(await intentsFor(orderId, t0)).toEqual(created);
    expect(await orderRow(orderId)).toMatchObject({ payment_intent_id: created[0] });
    expect(await held(sku)).toBe(before + 1);
  });
});

describe("Stripe failing", () => {
  it("answering 500: 503 PAYMENT_PROVIDER_UNAVAILABLE with Retry-After, the order kept; the same key resumes it with one PaymentIntent", async () => {
    const sku = "BK00103-PB";
    const before = await held(sku);
    const cart = await cartWith([[sku, 1]]);
    const t0 = since();
    const broken = stripeAnswering(500, { type: "api_error", message: "An unknown error occurred" });
    const out = failure(await checkoutWith(cart, "stripe-500-1", () => ({ payments: broken.port })));
    expect(broken.calls()).toBe(1);
    expect(out).toMatchObject({ status: 503, code: "PAYMENT_PROVIDER_UNAVAILABLE", retryAfter: 5, details: { stage: "payment" } });
    const orderId = (out.details as { order_id: string }).order_id;
    expect(await orderRow(orderId)).toMatchObject({ status: "pending_payment", payment_intent_id: null });
    expect(await intentsFor(orderId, t0)).toHaveLength(0);
    expect(await held(sku)).toBe(before + 1);
    const ok = await resume(cart, "stripe-500-1");
    expect(ok.order.id).toBe(orderId);
    expect(await intentsFor(orderId, t0)).toEqual([ok.payment.payment_intent_id]);
    expect(await held(sku)).toBe(before + 1);
  });

  it("timing out after Stripe created the intent (the reply is lost): 503 PAYMENT_PROVIDER_UNAVAILABLE; the resume gets that same intent, never a second", async () => {
    const sku = "BK00104-PB";
    const cart = await cartWith([[sku, 1]]);
    const t0 = since();
    const out = failure(await checkoutWith(cart, "stripe-timeout-1", () => ({ payments: stripeLosingReplies(300) })));
    expect(out).toMatchObject({ status: 503, code: "PAYMENT_PROVIDER_UNAVAILABLE", retryAfter: 5 });
    const orderId = (out.details as { order_id: string }).order_id;
    const created = await intentsFor(orderId, t0);
    expect(created).toHaveLength(1);
    const ok = await resume(cart, "stripe-timeout-1");
    expect(ok.order.id).toBe(orderId);
    expect(ok.payment.payment_intent_id).toBe(created[0]);
    expect(await intentsFor(orderId, t0)).toEqual(created);
  });

  it("declining (card_error): 402 PAYMENT_DECLINED, holds released, the order cancelled, the cart open; a retry makes a new order", async () => {
    const sku = "BK00105-PB";
    const before = await held(sku);
    const cart = await cartWith([[sku, 3]]);
    const declined = stripeAnswering(402, { type: "card_error", code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." });
    const out = failure(await checkoutWith(cart, "stripe-decline-1", () => ({ payments: declined.port })));
    expect(out).toMatchObject({ status: 402, code: "PAYMENT_DECLINED", details: { provider_code: "card_declined", decline_code: "generic_decline" } });
    expect(out.retryAfter).toBeUndefined();
    expect(await held(sku)).toBe(before);
    expect(await cartStatus(cart)).toBe("open");
    const [cancelled] = await ordersOf(cart);
    expect(cancelled?.status).toBe("cancelled");
    const ok = await resume(cart, "stripe-decline-2");
    expect(ok.order.id).not.toBe(cancelled?.id);
    expect(await held(sku)).toBe(before + 3);
  });

  it("refusing the request (invalid_request_error): 422 PAYMENT_PROVIDER_REFUSED, holds released, order cancelled", async () => {
    const sku = "BK00107-PB";
    const before = await held(sku);
    const cart = await cartWith([[sku, 1]]);
    const refused = stripeAnswering(400, { type: "invalid_request_error", code: "amount_too_small", message: "Amount must be at least $0.50 usd", param: "amount" });
    const out = failure(await checkoutWith(cart, "stripe-refused-1", () => ({ payments: refused.port })));
    expect(out).toMatchObject({ status: 422, code: "PAYMENT_PROVIDER_REFUSED", details: { provider_code: "amount_too_small" } });
    expect(await held(sku)).toBe(before);
    expect((await ordersOf(cart)).map((o) => o.status)).toEqual(["cancelled"]);
    expect(await cartStatus(cart)).toBe("open");
  });
});

describe("StockDO failing", () => {
  it("overloaded: 503 STOCK_UNAVAILABLE (cause DURABLE_OBJECT_OVERLOADED) with Retry-After, never retried, the holds already taken released", async () => {
    const first = "BK00108-PB";
    const hot = "BK00109-PB";
    const beforeFirst = await held(first);
    const beforeHot = await held(hot);
    const cart = await cartWith([[hot, 1], [first, 2]]);
    const stock = faultyStock(hot, () => doError("overloaded"));
    const out = failure(await checkoutWith(cart, "stock-overloaded-1", () => ({ stock: stock.port })));
    expect(out).toMatchObject({ status: 503, code: "STOCK_UNAVAILABLE", retryAfter: 1, details: { skus: [hot], cause: "DURABLE_OBJECT_OVERLOADED" } });
    expect(stock.attempts()).toBe(1);
    expect(await held(first)).toBe(beforeFirst);
    expect(await held(hot)).toBe(beforeHot);
    expect(await cartStatus(cart)).toBe("open");
    expect(await ordersOf(cart)).toHaveLength(0);
  });

  it("overloaded after the hold was taken (the reply lost): the hold is still released, nothing stays held", async () => {
    const sku = "BK00111-PB";
    await setStock(sku, 40);
    const before = await held(sku);
    const cart = await cartWith([[sku, 2]]);
    const stock = faultyStock(sku, () => doError("overloaded"), "lost-reply");
    const out = failure(await checkoutWith(cart, "stock-lost-reply-1", () => ({ stock: stock.port })));
    expect(out).toMatchObject({ status: 503, code: "STOCK_UNAVAILABLE", retryAfter: 1 });
    expect(stock.attempts()).toBe(1);
    expect(await held(sku)).toBe(before);
    expect(await cartStatus(cart)).toBe("open");
  });

  it("retryable: retried on a fresh stub (reserve is idempotent by hold id) and the checkout succeeds", async () => {
    const sku = "BK00110-PB";
    const before = await held(sku);
    const cart = await cartWith([[sku, 2]]);
    const stock = faultyStock(sku, (attempt) => (attempt === 1 ? doError("retryable") : null));
    const out = await checkoutWith(cart, "stock-retryable-1", () => ({ stock: stock.port }));
    expect(out.ok).toBe(true);
    expect(stock.attempts()).toBe(2);
    expect(stock.stubs()).toBeGreaterThanOrEqual(2);
    expect(await held(sku)).toBe(before + 2);
  });

  it("retryable every time: 503 STOCK_UNAVAILABLE (cause DURABLE_OBJECT_UNAVAILABLE) after the policy's attempts, nothing held", async () => {
    const sku = "BK00112-PB";
    const before = await held(sku);
    const cart = await cartWith([[sku, 1]]);
    const stock = faultyStock(sku, () => doError("retryable"));
    const out = failure(await checkoutWith(cart, "stock-retryable-2", () => ({ stock: stock.port })));
    expect(out).toMatchObject({ status: 503, code: "STOCK_UNAVAILABLE", details: { cause: "DURABLE_OBJECT_UNAVAILABLE" } });
    expect(out.retryAfter).toBeGreaterThan(0);
    expect(stock.attempts()).toBe(3);
    expect(await held(sku)).toBe(before);
    expect(await cartStatus(cart)).toBe("open");
  });
});

describe("Redis down", () => {
  it("checkout still works: it uses no Redis (its rate limits are Workers Rate Limiting bindings)", async () => {
    const cart = await cartWith([["BK00100-PB", 1]]);
    const res = await checkoutUnder(cart, "redis-down-1", REDIS_DOWN);
    expect(res.status).toBe(201);
  });
});

describe("a Worker that dies mid-saga", () => {
  it("leaves the lock with its input: another key meets CART_LOCKED; once the run lease is over the same key resumes the same order", async () => {
    const sku = "BK00101-PB";
    const cart = await cartWith([[sku, 1]]);
    const cartId = cartIdOf(cart);
    const stub = env.CART_DO.getByName(`cart:${cartId}`);
    // A run that fails in an unexpected way (not a fault that clears) keeps the lock: CHECKOUT_FAILED.
    const begun = await checkoutWith(cart, "died-key-1", (real) => ({
      orders: { ...real.orders, write: () => Promise.reject(Object.assign(new Error("worker died"), { name: "Died" })) },
    }));
    expect(failure(begun)).toMatchObject({ status: 503, code: "CHECKOUT_FAILED", retryAfter: 5, details: { stage: "order" } });
    const orderId = (failure(begun).details as { order_id: string }).order_id;
    // That run kept the lock (CHECKOUT_FAILED: not a transient error). Simulate a run still holding its lease.
    await runInDurableObject(stub, (_obj: CartDO, state) => {
      state.storage.sql.exec("update checkouts set run_until = ? where idem_key = 'died-key-1'", Date.now() + 60_000);
    });
    const busy = await checkout(cart, "died-key-1");
    expect(busy.status).toBe(409);
    expect(busy.headers.get("retry-after")).toBe("2");
    expect((await json<ErrorBody>(busy)).error.code).toBe("CHECKOUT_IN_PROGRESS");
    const other = await checkout(cart, "died-other");
    expect((await json<ErrorBody>(other)).error.code).toBe("CART_LOCKED");
    // The lease runs out (the Worker is gone): the same key resumes the same order.
    await runInDurableObject(stub, (_obj: CartDO, state) => {
      state.storage.sql.exec("update checkouts set run_until = ? where idem_key = 'died-key-1'", Date.now() - 1);
    });
    const ok = await resume(cart, "died-key-1");
    expect(ok.order.id).toBe(orderId);
  }, 60_000);

  it("a lock with no run and older than the hold time is taken over by another key, after the old order's holds are released", async () => {
    const sku = "BK00103-PB";
    const before = await held(sku);
    const cart = await cartWith([[sku, 2]]);
    const stub = env.CART_DO.getByName(`cart:${cartIdOf(cart)}`);
    const dead = deadOrders();
    const kept = failure(await checkoutWith(cart, "stale-lock-1", (real) => ({ orders: { ...real.orders, write: dead.port.write } })));
    await dead.db.end();
    expect(kept.code).toBe("CHECKOUT_UNAVAILABLE");
    expect(await held(sku)).toBe(before + 2);
    // Fresh lock: another key is refused.
    expect((await json<ErrorBody>(await checkout(cart, "stale-lock-2"))).error.code).toBe("CART_LOCKED");
    // Age the lock past CHECKOUT_HOLD_SECONDS (300 s).
    await runInDurableObject(stub, (_obj: CartDO, state) => {
      state.storage.sql.exec("update checkouts set created_at = ? where idem_key = 'stale-lock-1'", Date.now() - 301_000);
    });
    resetHealth();
    const ok = await resume(cart, "stale-lock-2");
    expect(ok.order.id).not.toBe((kept.details as { order_id: string }).order_id);
    // The old order's 2 units went back before the new order took its own 2.
    expect(await held(sku)).toBe(before + 2);
  });
});
