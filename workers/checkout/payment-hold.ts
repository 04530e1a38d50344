/**
 * The short hold, extended only while a payment is really in progress: an unpaid checkout holds its stock for
 * CHECKOUT_HOLD_SECONDS; when the shopper's payment is under way at Stripe (3-D Secure challenge or an asynchronous
 * method still processing), the client calls "payment started" and the holds move to CHECKOUT_PAYMENT_HOLD_SECONDS
 * after checkout. The PaymentIntent's status is read from Stripe, never taken from the client, and the extension is
 * bounded (counted from the order's creation), so repeating the call cannot hold stock forever.
 */
import { sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { DbRouter } from "../platform/db";
import { AppError } from "../platform/errors";
import { callDurableObject } from "../platform/do-access";
import type { CheckoutPolicy } from "./policy";

/** StockDO.extendHold's answer, as plain data. */
type ExtendAnswer = { ok: true; expiresAt: number } | { ok: false; state: string };

/** PaymentIntent statuses that mean the shopper is paying right now. */
export type PaymentInProgress = "requires_action" | "processing";
const IN_PROGRESS: readonly string[] = ["requires_action", "processing"] satisfies PaymentInProgress[];
const inProgress = (status: Stripe.PaymentIntent.Status): status is PaymentInProgress => IN_PROGRESS.includes(status);

export interface PaymentHoldContext {
  db: DbRouter;
  stripe: Stripe;
  stock: Env["STOCK_DO"];
  policy: CheckoutPolicy;
}

/** Extends the holds of `orderId` (which must belong to `cartId`) while its payment is in progress. */
export async function extendHoldsForPayment(ctx: PaymentHoldContext, cartId: string, orderId: string): Promise<{ order_id: string; payment_status: PaymentInProgress; holds_expire_at: string }> {
  const { value } = await ctx.db.read(
    (r) =>
      r.rows<{ status: string; payment_intent_id: string | null; created_at: string; holds_expire_at: string; lines: { sku: string; hold_id: string }[] | null }>(sql`
        select o.status, o.payment_intent_id, o.created_at, o.holds_expire_at,
          (select json_agg(json_build_object('sku', l.sku, 'hold_id', l.hold_id)) from order_lines l where l.order_id = o.id) as lines
        from orders o where o.id = ${orderId} and o.cart_id = ${cartId}`),
    { primary: true },
  );
  const order = value[0];
  // Another cart's order is indistinguishable from none.
  if (!order) throw new AppError("ORDER_NOT_FOUND", "Order was not found");
  if (order.status !== "pending_payment") throw new AppError("ORDER_NOT_PENDING", "This order is not awaiting payment", { status: order.status });
  if (!order.payment_intent_id) throw new AppError("PAYMENT_NOT_STARTED", "No payment is in progress for this order");
  const intent = await ctx.stripe.paymentIntents.retrieve(order.payment_intent_id);
  if (!inProgress(intent.status)) {
    throw new AppError("PAYMENT_NOT_STARTED", "No payment is in progress for this order; the short hold applies", { payment_status: intent.status });
  }
  const until = new Date(order.created_at).getTime() + ctx.policy.paymentHoldSeconds * 1000;
  const results = await Promise.all(
    (order.lines ?? []).map(async (l) => ({
      sku: l.sku,
      // Idempotent: the hold is moved to a fixed time.
      res: await callDurableObject(() => ctx.stock.getByName(`sku:${l.sku}`), async (s): Promise<ExtendAnswer> => (await s.extendHold(l.sku, l.hold_id, until)) as ExtendAnswer, { idempotent: true, label: "stock.extendHold" }),
    })),
  );
  const lapsed = results.filter((r) => !r.res.ok).map((r) => r.sku);
  if (lapsed.length > 0) throw new AppError("HOLDS_EXPIRED", "The stock held for this order has already been released", { skus: lapsed });
  const expiresAt = Math.min(...results.map((r) => (r.res.ok ? r.res.expiresAt : 0)));
  await ctx.db.write((primary) =>
    primary.execute(sql`update orders set holds_expire_at = greatest(holds_expire_at, ${new Date(expiresAt).toISOString()}::timestamptz) where id = ${orderId}`),
  );
  return { order_id: orderId, payment_status: intent.status, holds_expire_at: new Date(expiresAt).toISOString() };
}
