/**
 * The checkout saga, run by the CartDO after it has persisted the lock. Each step is idempotent so a saga cut short
 * (the object restarted, Postgres or Stripe unreachable) can run again from the top with the same order id:
 * holds are keyed `<order id>:<sku>`, the order insert ignores an existing id, and Stripe's idempotency key is the
 * order id.
 */
import { sql } from "drizzle-orm";
import { AppError } from "../workers/platform/errors";
import type { AppConfig } from "../workers/platform/config";
import { DbRouter } from "../workers/platform/db";
import type { Logger } from "../workers/platform/logger";
import { errorFields } from "../workers/platform/logger";
import { encryptPiiJson, parsePiiKeyRing } from "../workers/platform/pii";
import { signValue } from "../workers/platform/signing";
import { computeTotals, loadPricing } from "../workers/checkout/pricing";
import { createPendingOrder, orderNumber } from "../workers/checkout/order-writer";
import { isTransientStripeError, stripeClient } from "../workers/payments/stripe";
import type { HoldOwner, StockDO } from "./stock-do";
import { checkoutPolicy } from "../workers/checkout";
import type { CheckoutPolicy, CustomerKeys } from "../workers/checkout";
import type { CartFailure, CheckoutSuccess, ShippingAddress } from "../workers/cart/types";

/** What the CartDO stores with the lock: everything the saga needs to run again. */
export interface SagaInput {
  cartId: string;
  orderId: string;
  idempotencyKey: string;
  userId: string | null;
  email: string;
  shippingAddress: ShippingAddress;
  coupon: string | null;
  items: { sku: string; qty: number; unitPrice: number }[];
  traceId: string | null;
  /** Whose checkout this is, for the per-customer and per-IP caps (absent only in records from before the caps). */
  customer?: CustomerKeys;
}

interface Limited {
  sku: string;
  scope: string;
  max: number;
  held: number;
}

/** done: store the result and mark the cart ordered; unlock: forget the attempt; keep: leave the lock for a retry. */
export type SagaResult = { disposition: "done"; outcome: CheckoutSuccess } | { disposition: "unlock" | "keep"; outcome: CartFailure };

const fail = (status: CartFailure["status"], code: string, message: string, details?: unknown): CartFailure => ({ ok: false, status, code, message, details });

/**
 * Holds in SKU order; on any shortfall (or a StockDO that cannot answer) every hold taken is released and the short
 * SKUs are reported.
 */
async function reserveAll(
  env: Env,
  input: SagaInput,
  policy: CheckoutPolicy,
): Promise<{ ok: true; expiresAt: number } | { ok: false; short: { sku: string; requested: number; available: number }[]; unavailable: string[]; limited: Limited[] }> {
  const sorted = [...input.items].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  const taken: string[] = [];
  const short: { sku: string; requested: number; available: number }[] = [];
  const unavailable: string[] = [];
  const limited: Limited[] = [];
  const owners: HoldOwner[] = input.customer
    ? [
        { key: input.customer.customer, scope: "customer", max: policy.maxUnitsPerCustomer },
        { key: input.customer.ip, scope: "ip", max: policy.maxUnitsPerIp },
      ]
    : [];
  let expiresAt = Number.POSITIVE_INFINITY;
  for (const item of sorted) {
    let res: Awaited<ReturnType<StockDO["reserve"]>>;
    try {
      res = await env.STOCK_DO.getByName(`sku:${item.sku}`).reserve(item.sku, `${input.orderId}:${item.sku}`, item.qty, policy.holdSeconds, owners);
    } catch {
      unavailable.push(item.sku);
      break;
    }
    if (res.ok) {
      taken.push(item.sku);
      expiresAt = Math.min(expiresAt, res.expiresAt);
    } else if (res.reason === "insufficient_stock") {
      short.push({ sku: item.sku, requested: item.qty, available: res.available });
    } else if (res.reason === "owner_limit") {
      limited.push({ sku: item.sku, scope: res.scope, max: res.max, held: res.held });
    } else {
      // A hold of this order that already expired or was released: report as short, the shopper retries fresh.
      short.push({ sku: item.sku, requested: item.qty, available: 0 });
    }
  }
  if (short.length === 0 && unavailable.length === 0 && limited.length === 0) return { ok: true, expiresAt };
  await releaseHolds(env, input.orderId, taken);
  return { ok: false, short, unavailable, limited };
}

/** Releases this order's holds on `skus` (idempotent). */
export async function releaseHolds(env: Env, orderId: string, skus: string[]): Promise<void> {
  await Promise.all(skus.map((sku) => env.STOCK_DO.getByName(`sku:${sku}`).release(sku, `${orderId}:${sku}`)));
}

/** Runs (or resumes) the saga for one locked checkout. */
export async function runCheckoutSaga(env: Env, config: AppConfig, log: Logger, input: SagaInput): Promise<SagaResult> {
  const db = new DbRouter(config, log);
  // How far the saga got: before the order is written a failure gives the holds back; after, the lock stays so a
  // retry with the same key resumes the same order.
  let stage: "start" | "held" | "order" = "start";
  try {
    const skus = input.items.map((i) => i.sku);
    // 2. Holds, in SKU order, before anything touches Postgres: in a flash sale the shoppers who lose are turned
    //    away by the StockDO alone, so a thousand of them cost the database nothing.
    const policy = checkoutPolicy(env);
    const holds = await reserveAll(env, input, policy);
    if (!holds.ok && holds.unavailable.length > 0) {
      return { disposition: "unlock", outcome: fail(503, "STOCK_UNAVAILABLE", "Stock could not be checked right now; retry shortly", { skus: holds.unavailable, retry_after_seconds: 5 }) };
    }
    if (!holds.ok && holds.short.length > 0) {
      return { disposition: "unlock", outcome: fail(409, "OUT_OF_STOCK", "Not enough stock for some items", { skus: holds.short }) };
    }
    if (!holds.ok) {
      return {
        disposition: "unlock",
        outcome: fail(409, "PURCHASE_LIMIT", "You already hold (or bought) as many of these items as one customer may; pay or cancel an open order first", { skus: holds.limited }),
      };
    }
    stage = "held";

    // 3. Re-price from the primary; anything wrong gives the holds back.
    const { variants, rules } = await loadPricing(db, skus, input.shippingAddress.country, input.shippingAddress.region);
    const unavailable = skus.filter((s) => !variants.get(s)?.purchasable);
    if (unavailable.length > 0) {
      await releaseHolds(env, input.orderId, skus);
      return { disposition: "unlock", outcome: fail(409, "ITEM_UNAVAILABLE", "Some items can no longer be bought; remove them and try again", { skus: unavailable }) };
    }
    const currencies = new Set([...variants.values()].map((v) => v.currency));
    if (currencies.size > 1) {
      await releaseHolds(env, input.orderId, skus);
      return { disposition: "unlock", outcome: fail(422, "MIXED_CURRENCIES", "The cart mixes currencies", { currencies: [...currencies] }) };
    }
    const priced = input.items.map((i) => {
      const v = variants.get(i.sku);
      if (!v) throw new Error(`priced variant missing for ${i.sku}`);
      return { item: i, v };
    });
    const totals = computeTotals(priced.map(({ item, v }) => v.unit_price * item.qty), rules);
    const currency = priced[0]?.v.currency ?? "USD";

    // 4. Order, lines and history in one transaction.
    stage = "order";
    const ring = parsePiiKeyRing(config.piiKeys);
    const order = await createPendingOrder(db, {
      id: input.orderId,
      userId: input.userId,
      cartId: input.cartId,
      checkoutKey: input.idempotencyKey,
      email: input.email,
      currency,
      totals,
      taxRateBps: rules.taxRateBps,
      shippingRegion: rules.region,
      shippingAddressEnc: await encryptPiiJson(ring, input.shippingAddress, `order-address:${input.orderId}`),
      couponCode: input.coupon,
      holdsExpireAt: new Date(holds.expiresAt),
      claim: input.customer ? { ...input.customer, maxPerCustomer: policy.maxUnpaidPerCustomer, maxPerIp: policy.maxUnpaidPerIp } : null,
      lines: priced.map(({ item, v }) => ({
        variantId: v.variant_id,
        productId: v.product_id,
        sku: v.sku,
        title: v.title,
        format: v.format,
        unitPrice: v.unit_price,
        quantity: item.qty,
        holdId: `${input.orderId}:${item.sku}`,
      })),
    });
    if (!order.ok) {
      await releaseHolds(env, input.orderId, skus);
      return {
        disposition: "unlock",
        outcome: fail(409, "UNPAID_ORDER_LIMIT", "Too many orders are awaiting payment; pay or cancel one first", { scope: order.scope, max: order.max }),
      };
    }

    // 5. The PaymentIntent, idempotent by order id: a resumed saga gets the same one back.
    const intent = await stripeClient(config).paymentIntents.create(
      {
        amount: totals.grandTotal,
        currency: currency.toLowerCase(),
        automatic_payment_methods: { enabled: true },
        receipt_email: input.email,
        description: `NexusBooks order ${orderNumber(order.number)}`,
        metadata: { order_id: input.orderId, cart_id: input.cartId },
      },
      { idempotencyKey: input.orderId },
    );
    await db.write((primary) => primary.execute(sql`update orders set payment_intent_id = ${intent.id} where id = ${input.orderId} and payment_intent_id is null`), { retryConnect: true });

    // 6. The answer, stored by the CartDO and replayed for a repeat of the same key.
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
      order_token: await signValue(config.cookieSecret, "order", input.orderId),
    };
    return { disposition: "done", outcome };
  } catch (err) {
    const transient = err instanceof AppError ? err.status === 503 : isTransientStripeError(err);
    log.error("checkout_saga_failed", { order_id: input.orderId, cart_id: input.cartId, stage, transient, ...errorFields(err) });
    if (stage !== "order") {
      if (stage === "held") await releaseHolds(env, input.orderId, input.items.map((i) => i.sku)).catch(() => undefined);
      return { disposition: "unlock", outcome: fail(503, "CHECKOUT_UNAVAILABLE", "Checkout is unavailable right now; retry shortly", { retry_after_seconds: 5 }) };
    }
    // Holds (and perhaps the order) exist: keep the lock so a retry with the same key resumes the same order.
    return {
      disposition: "keep",
      outcome: fail(503, transient ? "PAYMENT_PROVIDER_UNAVAILABLE" : "CHECKOUT_FAILED", "Checkout could not finish; retry with the same Idempotency-Key", { retry_after_seconds: 5 }),
    };
  } finally {
    await endWithin(db, POOL_END_MS);
  }
}

/** How long the saga waits for its pools to close before answering anyway. */
const POOL_END_MS = 3_000;

/**
 * Ends the request's pools, but never waits longer than `ms`: a pool whose connection broke mid-transaction (seen as
 * "Failed query: begin" under a burst) may never finish ending, and the shopper's answer must not wait on it. The
 * abandoned connection is closed by the server and the isolate.
 */
async function endWithin(db: DbRouter, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([db.end(), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
