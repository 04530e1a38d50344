/**
 * The checkout saga, run by the Worker inside the shopper's request once the CartDO has persisted the lock (README
 * "Checkout saga: where it lives"). Each step has one compensation, run in reverse order when the saga gives up for
 * good:
 *
 *   1. reserve holds, in SKU order          ↔ release them (by hold id; idempotent)
 *   2. re-price from the primary            ↔ nothing to undo
 *   3. write the pending order              ↔ cancel it (only when payment is refused outright)
 *   4. create the PaymentIntent             ↔ cancel it (nothing after it can fail for good)
 *   5. attach the intent to the order       ↔ nothing to undo
 *
 * A fault that may clear (Postgres, Stripe or a StockDO unreachable) before step 3 gives everything back; from step 3
 * on the order may exist, so the lock stays and a retry with the same key resumes the same order: holds are keyed
 * `<order id>:<sku>`, the order insert ignores an existing id, and Stripe's idempotency key is the order id.
 */
import Stripe from "stripe";
import { AppError } from "../platform/errors";
import type { ErrorCode } from "../platform/errors";
import { errorFields } from "../platform/logger";
import { encryptPiiJson, parsePiiKeyRing } from "../platform/pii";
import { signValue } from "../platform/signing";
import { orderNumber } from "../orders";
import { isTransientStripeError, stripeRefusal } from "../payments";
import { computeTotals } from "./pricing";
import type { HoldOwners, SagaPorts } from "./saga-ports";
import type { CheckoutFailure, CheckoutSuccess, SagaInput, SagaResult } from "./saga-types";

/** Seconds a shopper is told to wait before retrying after a fault that may clear. */
export const RETRY_AFTER_SECONDS = 5;

const fail = (code: ErrorCode, message: string, details?: unknown, retryAfter?: number): CheckoutFailure => ({
  ok: false,
  code,
  message,
  ...(details === undefined ? {} : { details }),
  ...(retryAfter === undefined ? {} : { retryAfter }),
});

interface Compensation {
  step: string;
  run: () => Promise<unknown>;
}

type HoldsResult = { ok: true; expiresAt: number } | { ok: false; failure: CheckoutFailure };

/** Step 1. Every SKU it asks for is recorded for compensation before the call: a reply lost after the hold was taken still gets released. */
async function reserveHolds(ports: SagaPorts, input: SagaInput, asked: string[]): Promise<HoldsResult> {
  const sorted = [...input.items].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  const owners: HoldOwners = input.customer
    ? [
        { key: input.customer.customer, scope: "customer", max: ports.policy.maxUnitsPerCustomer },
        { key: input.customer.ip, scope: "ip", max: ports.policy.maxUnitsPerIp },
      ]
    : [];
  const short: { sku: string; requested: number; available: number }[] = [];
  const limited: { sku: string; scope: string; max: number; held: number }[] = [];
  let expiresAt = Number.POSITIVE_INFINITY;
  for (const item of sorted) {
    asked.push(item.sku);
    let res: Awaited<ReturnType<SagaPorts["stock"]["reserve"]>>;
    try {
      res = await ports.stock.reserve(item.sku, holdId(input, item.sku), item.qty, ports.policy.holdSeconds, owners);
    } catch (err) {
      // The access layer already retried what may be retried; overloaded is never retried (it would feed the overload).
      const cause = err instanceof AppError ? err.code : "DURABLE_OBJECT_UNAVAILABLE";
      const retryAfter = err instanceof AppError ? Number(err.headers["Retry-After"] ?? RETRY_AFTER_SECONDS) : RETRY_AFTER_SECONDS;
      ports.log.warn("checkout_stock_unavailable", { order_id: input.orderId, sku: item.sku, cause, ...errorFields(err) });
      return { ok: false, failure: fail("STOCK_UNAVAILABLE", "Stock could not be checked right now; retry shortly", { skus: [item.sku], cause }, retryAfter) };
    }
    if (res.ok) expiresAt = Math.min(expiresAt, res.expiresAt);
    else if (res.reason === "insufficient_stock") short.push({ sku: item.sku, requested: item.qty, available: res.available });
    else if (res.reason === "owner_limit") limited.push({ sku: item.sku, scope: res.scope, max: res.max, held: res.held });
    // A hold of this order that already expired or was released: report as short, the shopper retries fresh.
    else short.push({ sku: item.sku, requested: item.qty, available: 0 });
  }
  if (short.length > 0) return { ok: false, failure: fail("OUT_OF_STOCK", "Not enough stock for some items", { skus: short }) };
  if (limited.length > 0) {
    return {
      ok: false,
      failure: fail("PURCHASE_LIMIT", "You already hold (or bought) as many of these items as one customer may; pay or cancel an open order first", { skus: limited }),
    };
  }
  return { ok: true, expiresAt };
}

const holdId = (input: SagaInput, sku: string): string => `${input.orderId}:${sku}`;

/** True for a failure that may clear by itself (an unreachable database or DO, a network error), not a bug or a refusal. */
function isTransient(err: unknown): boolean {
  if (err instanceof AppError) return err.status === 503;
  if (err instanceof Stripe.errors.StripeError) return isTransientStripeError(err);
  return false;
}

/** Attempts in all for an idempotent Postgres step whose database was unreachable. */
const DB_STEP_ATTEMPTS = 2;

/**
 * Runs an idempotent Postgres step, once more after a short jittered pause if the database was unreachable: under a
 * burst a connection can time out while the next one succeeds, and every Postgres step of the saga is idempotent by
 * order id. A refusal or a bug is not retried.
 */
async function dbStep<T>(ports: SagaPorts, step: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= DB_STEP_ATTEMPTS || !(err instanceof AppError) || err.status !== 503) throw err;
      ports.log.warn("checkout_db_step_retry", { step, attempt, ...errorFields(err) });
      await new Promise<void>((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
    }
  }
}

/** Runs (or resumes) the saga for one locked checkout. Never throws: every failure is an answer with a disposition. */
export async function runCheckoutSaga(ports: SagaPorts, input: SagaInput): Promise<SagaResult> {
  const log = ports.log;
  const undo: Compensation[] = [];
  const compensate = async (): Promise<void> => {
    for (const c of undo.reverse()) {
      try {
        await c.run();
      } catch (err) {
        // Holds still expire by the StockDO's alarm and an unpaid order by the reconciler; the shopper is not kept waiting.
        log.warn("checkout_compensation_failed", { order_id: input.orderId, step: c.step, ...errorFields(err) });
      }
    }
  };
  const giveUp = async (outcome: CheckoutFailure): Promise<SagaResult> => {
    await compensate();
    return { disposition: "unlock", outcome };
  };
  let stage: "holds" | "pricing" | "order" | "payment" | "attach" = "holds";
  try {
    // 1. Holds before anything touches Postgres: in a flash sale the shoppers who lose are turned away by the StockDO
    //    alone, so a thousand of them cost the database nothing.
    const asked: string[] = [];
    undo.push({ step: "holds", run: () => Promise.all(asked.map((sku) => ports.stock.release(sku, holdId(input, sku)))) });
    const holds = await reserveHolds(ports, input, asked);
    if (!holds.ok) return await giveUp(holds.failure);

    // 2. Re-price from the primary.
    stage = "pricing";
    const skus = input.items.map((i) => i.sku);
    const { variants, rules } = await dbStep(ports, "pricing", () => ports.orders.pricing(skus, input.shippingAddress.country, input.shippingAddress.region));
    const unavailable = skus.filter((s) => !variants.get(s)?.purchasable);
    if (unavailable.length > 0) return await giveUp(fail("ITEM_UNAVAILABLE", "Some items can no longer be bought; remove them and try again", { skus: unavailable }));
    const currencies = new Set([...variants.values()].map((v) => v.currency));
    if (currencies.size > 1) return await giveUp(fail("MIXED_CURRENCIES", "The cart mixes currencies", { currencies: [...currencies] }));
    const priced = input.items.map((i) => {
      const v = variants.get(i.sku);
      if (!v) throw new Error(`priced variant missing for ${i.sku}`);
      return { item: i, v };
    });
    const computed = computeTotals(priced.map(({ item, v }) => v.unit_price * item.qty), rules);
    const currency = priced[0]?.v.currency ?? "USD";

    // 3. Order, lines, history and claim in one transaction (idempotent by order id).
    stage = "order";
    const ring = parsePiiKeyRing(ports.piiKeys);
    const shippingAddressEnc = await encryptPiiJson(ring, input.shippingAddress, `order-address:${input.orderId}`);
    const order = await dbStep(ports, "order", () => ports.orders.write({
      id: input.orderId,
      userId: input.userId,
      cartId: input.cartId,
      checkoutKey: input.idempotencyKey,
      email: input.email,
      currency,
      totals: computed,
      taxRateBps: rules.taxRateBps,
      shippingRegion: rules.region,
      shippingAddressEnc,
      couponCode: input.coupon,
      holdsExpireAt: new Date(holds.expiresAt),
      claim: input.customer ? { ...input.customer, maxPerCustomer: ports.policy.maxUnpaidPerCustomer, maxPerIp: ports.policy.maxUnpaidPerIp } : null,
      lines: priced.map(({ item, v }) => ({
        variantId: v.variant_id,
        productId: v.product_id,
        sku: v.sku,
        title: v.title,
        format: v.format,
        unitPrice: v.unit_price,
        quantity: item.qty,
        holdId: holdId(input, item.sku),
      })),
    }));
    if (!order.ok) return await giveUp(fail("UNPAID_ORDER_LIMIT", "Too many orders are awaiting payment; pay or cancel one first", { scope: order.scope, max: order.max }));
    undo.push({ step: "order", run: () => ports.orders.cancel(input.orderId, "payment_refused") });
    // A resumed saga charges what the order it wrote says, even if a price changed in between.
    const totals = order.totals ?? computed;

    // 4. The PaymentIntent, idempotent by order id: a resumed saga gets the same one back.
    stage = "payment";
    let intent: { id: string; client_secret: string | null };
    try {
      intent = await ports.payments.createIntent(
        {
          amount: totals.grandTotal,
          currency: currency.toLowerCase(),
          automatic_payment_methods: { enabled: true },
          receipt_email: input.email,
          description: `NexusBooks order ${orderNumber(order.number)}`,
          metadata: { order_id: input.orderId, cart_id: input.cartId },
        },
        input.orderId,
      );
    } catch (err) {
      // Transient, or not Stripe's answer at all, or Stripe saying the same key came with other parameters (an intent
      // may exist): the outer handler keeps the lock for a same-key resume.
      if (!(err instanceof Stripe.errors.StripeError) || isTransientStripeError(err) || err.type === "StripeIdempotencyError") throw err;
      // A definite refusal: this order can never be paid as it is. Give everything back; a new attempt gets a new order.
      log.warn("checkout_payment_refused", { order_id: input.orderId, ...errorFields(err) });
      if (err.type === "StripeCardError") {
        return await giveUp(fail("PAYMENT_DECLINED", "The payment was declined; try another payment method", { provider_code: err.code ?? null, decline_code: err.decline_code ?? null }));
      }
      const refusal = stripeRefusal(err);
      // Only a refusal that means something at checkout keeps its code; refund-specific ones (a PaymentIntent amount
      // Stripe finds too large maps to REFUND_TOO_LARGE elsewhere) become PAYMENT_PROVIDER_REFUSED.
      if (refusal instanceof AppError && refusal.code === "PAYMENT_STATE_CONFLICT") return await giveUp(fail(refusal.code, refusal.message, refusal.details));
      return await giveUp(fail("PAYMENT_PROVIDER_REFUSED", "The payment provider refused this checkout", { provider_code: err.code ?? null }));
    }
    undo.push({ step: "payment", run: () => ports.payments.cancelIntent(intent.id) });

    // 5. The order learns its intent; a failure here is transient and the same key resumes.
    stage = "attach";
    await dbStep(ports, "attach", () => ports.orders.attachPaymentIntent(input.orderId, intent.id));

    const outcome: CheckoutSuccess = {
      ok: true,
      replayed: false,
      order: {
        id: input.orderId,
        number: orderNumber(order.number),
        status: "pending_payment",
        currency,
        subtotal: totals.subtotal,
        discount_total: totals.discountTotal,
        tax_total: totals.taxTotal,
        shipping_total: totals.shippingTotal,
        grand_total: totals.grandTotal,
        holds_expire_at: new Date(holds.expiresAt).toISOString(),
        lines: priced.map(({ item, v }) => ({ sku: v.sku, title: v.title, quantity: item.qty, unit_price: v.unit_price, line_total: v.unit_price * item.qty })),
        repriced: priced.filter(({ item, v }) => item.unitPrice !== v.unit_price).map(({ item, v }) => ({ sku: v.sku, was: item.unitPrice, now: v.unit_price })),
      },
      payment: { provider: "stripe", payment_intent_id: intent.id, client_secret: intent.client_secret ?? "" },
      order_token: await signValue(ports.cookieSecret, "order", input.orderId),
    };
    return { disposition: "done", outcome };
  } catch (err) {
    const transient = isTransient(err);
    log.error("checkout_saga_failed", { order_id: input.orderId, cart_id: input.cartId, stage, transient, ...errorFields(err) });
    if (stage === "holds" || stage === "pricing") {
      return giveUp(fail("CHECKOUT_UNAVAILABLE", "Checkout is unavailable right now; retry shortly", { stage }, RETRY_AFTER_SECONDS));
    }
    // The order may exist (a write whose reply was lost counts): keep the lock so the same key resumes it.
    const resume = "retry with the same Idempotency-Key to resume this order";
    if (!transient) return { disposition: "keep", outcome: fail("CHECKOUT_FAILED", `Checkout could not finish; ${resume}`, { stage, order_id: input.orderId }, RETRY_AFTER_SECONDS) };
    if (stage === "payment") {
      return { disposition: "keep", outcome: fail("PAYMENT_PROVIDER_UNAVAILABLE", `The payment provider is not answering; ${resume}`, { stage, order_id: input.orderId }, RETRY_AFTER_SECONDS) };
    }
    return { disposition: "keep", outcome: fail("CHECKOUT_UNAVAILABLE", `Checkout is unavailable right now; ${resume}`, { stage, order_id: input.orderId }, RETRY_AFTER_SECONDS) };
  }
}
