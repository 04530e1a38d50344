/**
 * Brings an order in line with its PaymentIntent. Stripe is the source of truth: whatever event arrives (in any
 * order, any number of times) only triggers a read of the PaymentIntent and its charge, and the order moves to
 * the state those facts imply through the state machine, which ignores moves already made. Stock is committed
 * before the order is marked paid (commits are idempotent), so a crash in between is repaired by the next event or
 * by the reconciliation cron. It lives in orders because it moves orders and writes their lines; payments only
 * supplies the Stripe client.
 */
import { sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { DbRouter } from "../platform/db";
import type { ServiceContext } from "../platform/service-context";
import type { OutboxEvent } from "../platform/outbox";
import { enqueueOutbox, outboxEvent } from "../platform/outbox";
import { dispatchNow } from "../platform/outbox-dispatch";
import { stripeClient } from "../payments";
import { transitionOrder } from "./state-machine";
import type { OrderStatus } from "./tables";
import { callStock } from "../platform/do-access";
import type { StockAnswer } from "../platform/do-access";

type ReserveResult = StockAnswer<"reserve">;

// Every StockDO call here is idempotent by hold id, so the access layer may retry it.
const reserve = (env: Env, sku: string, holdId: string, qty: number) =>
  callStock<ReserveResult>(env, sku, async (s) => await s.reserve(sku, holdId, qty, LATE_HOLD_SECONDS), { idempotent: true, label: "stock.reserve" });
const release = (env: Env, sku: string, holdId: string) =>
  callStock(env, sku, async (s) => { await s.release(sku, holdId); }, { idempotent: true, label: "stock.release" });
const commit = (env: Env, sku: string, holdId: string, ref: string) =>
  callStock(env, sku, async (s) => { await s.commit(sku, holdId, ref); }, { idempotent: true, label: "stock.commit" });

interface OrderFacts extends Record<string, unknown> {
  id: string;
  status: OrderStatus;
  payment_intent_id: string | null;
  grand_total: number;
  amount_paid: number;
  amount_refunded: number;
  lines: { sku: string; quantity: number; hold_id: string; line_no: number; product_id: number }[];
}

export type SyncOutcome = "paid" | "refunded_out_of_stock" | "refund_recorded" | "payment_failed" | "cancelled" | "expired" | "unchanged" | "no_payment_intent" | "order_missing";

const UNPAID: OrderStatus[] = ["pending_payment", "payment_failed", "expired", "cancelled"];
const LATE_HOLD_SECONDS = 600;

async function loadOrder(db: DbRouter, orderId: string): Promise<OrderFacts | null> {
  const { value } = await db.read(
    (r) =>
      r.rows<OrderFacts>(sql`
        select o.id, o.status, o.payment_intent_id, o.grand_total, o.amount_paid, o.amount_refunded,
          coalesce((select json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'hold_id', l.hold_id, 'line_no', l.line_no, 'product_id', l.product_id) order by l.line_no)
                    from order_lines l where l.order_id = o.id), '[]') as lines
        from orders o where o.id = ${orderId}`),
    { primary: true },
  );
  return value[0] ?? null;
}

/** The order a Stripe object belongs to: metadata first, then the PaymentIntent id recorded on the order. */
export async function orderIdForPayment(ctx: ServiceContext, paymentIntentId: string | null, metadataOrderId: string | null): Promise<string | null> {
  if (metadataOrderId && /^[0-9a-f-]{36}$/.test(metadataOrderId)) return metadataOrderId;
  if (!paymentIntentId) return null;
  const { value } = await ctx.db.read((r) => r.rows<{ id: string }>(sql`select id from orders where payment_intent_id = ${paymentIntentId}`), { primary: true });
  if (value[0]) return value[0].id;
  const pi = await stripeClient(ctx.config).paymentIntents.retrieve(paymentIntentId);
  return pi.metadata.order_id ?? null;
}

type StockPlan = { ok: true; holds: { sku: string; holdId: string; lineNo: number; committed: boolean }[] } | { ok: false; short: string[]; taken: { sku: string; holdId: string }[] };

/**
 * Makes sure every line is backed by a hold or a sale: the checkout's hold if it is still active (or already
 * committed), else a fresh one (the payment came after the holds lapsed). All or nothing.
 */
async function secureStock(env: Env, order: OrderFacts): Promise<StockPlan> {
  const holds: { sku: string; holdId: string; lineNo: number; committed: boolean }[] = [];
  const short: string[] = [];
  const taken: { sku: string; holdId: string }[] = [];
  for (const line of [...order.lines].sort((a, b) => (a.sku < b.sku ? -1 : 1))) {
    let holdId = line.hold_id;
    let res = await reserve(env, line.sku, holdId, line.quantity);
    if (!res.ok && res.reason === "hold_closed" && res.state !== "committed") {
      holdId = `${order.id}:${line.sku}:late`;
      res = await reserve(env, line.sku, holdId, line.quantity);
    }
    if (res.ok) {
      holds.push({ sku: line.sku, holdId, lineNo: line.line_no, committed: false });
      if (holdId !== line.hold_id) taken.push({ sku: line.sku, holdId });
    } else if (res.reason === "hold_closed" && res.state === "committed") {
      holds.push({ sku: line.sku, holdId, lineNo: line.line_no, committed: true });
    } else {
      short.push(line.sku);
    }
  }
  if (short.length > 0) return { ok: false, short, taken };
  return { ok: true, holds };
}

type Tx = Parameters<Parameters<DbRouter["write"]>[0]>[0];

/**
 * Runs `write` (an order state move) in one transaction with the events it causes, written only when it changed
 * something; the events are sent after commit (a lost send is left to the cron sweep).
 */
async function moveAndAnnounce(ctx: ServiceContext, events: OutboxEvent[], write: (tx: Tx) => Promise<boolean>): Promise<boolean> {
  const ids: string[] = [];
  const changed = await ctx.db.write((primary) =>
    primary.transaction(async (tx) => {
      const did = await write(tx);
      if (did) ids.push(...(await enqueueOutbox(tx, events)));
      return did;
    }),
  );
  await dispatchNow(ctx, ids);
  return changed;
}

/** Syncs one order with Stripe; `cause` names the event (or job) for the order history. */
export async function syncOrderPayment(ctx: ServiceContext, orderId: string, cause: string): Promise<SyncOutcome> {
  const { env, config } = ctx;
  const order = await loadOrder(ctx.db, orderId);
  if (!order) return "order_missing";
  if (!order.payment_intent_id) return "no_payment_intent";
  const stripe = stripeClient(config);
  const pi: Stripe.PaymentIntent = await stripe.paymentIntents.retrieve(order.payment_intent_id, { expand: ["latest_charge"] });
  const charge = typeof pi.latest_charge === "object" ? pi.latest_charge : null;

  if (pi.status === "succeeded" && UNPAID.includes(order.status)) {
    const plan = await secureStock(env, order);
    if (!plan.ok) {
      // Paid, but the stock went to someone else after the holds lapsed: refund in full and tell the shopper.
      await Promise.all(plan.taken.map((t) => release(env, t.sku, t.holdId)));
      await stripe.refunds.create({ payment_intent: pi.id, reason: "requested_by_customer", metadata: { order_id: order.id, why: "out_of_stock_after_payment" } }, { idempotencyKey: `oos-refund:${order.id}` });
      await moveAndAnnounce(ctx, [outboxEvent("email.out_of_stock_after_payment", { order_id: order.id, skus: plan.short }, ctx.traceId)], async (tx) => {
        const t = await transitionOrder(tx, order.id, {
          to: "refunded",
          reason: "out_of_stock_after_payment",
          actor: "system",
          ref: cause,
          details: { short: plan.short },
          set: [sql`amount_paid = ${pi.amount_received}`, sql`amount_refunded = ${pi.amount_received}`, sql`paid_at = coalesce(paid_at, now())`],
        });
        return t.changed;
      });
      return "refunded_out_of_stock";
    }
    for (const h of plan.holds) {
      if (!h.committed) await commit(env, h.sku, h.holdId, order.id);
    }
    const productIds = [...new Set(order.lines.map((l) => l.product_id))];
    await moveAndAnnounce(
      ctx,
      [
        outboxEvent("email.order_confirmation", { order_id: order.id }, ctx.traceId),
        // Sales change availability and popularity in search: one index job per product.
        ...productIds.map((id) => outboxEvent("catalog.product.changed", { product_id: Number(id), reason: "sale" }, ctx.traceId)),
      ],
      async (tx) => {
        for (const h of plan.holds) await tx.execute(sql`update order_lines set hold_id = ${h.holdId} where order_id = ${order.id} and line_no = ${h.lineNo}`);
        const t = await transitionOrder(tx, order.id, {
          to: "paid",
          reason: "payment_intent.succeeded",
          actor: "stripe",
          ref: cause,
          set: [sql`amount_paid = ${pi.amount_received}`, sql`paid_at = now()`],
        });
        return t.changed;
      },
    );
    // A refund may already exist too (events can arrive in any order): fall through to record it.
    order.status = "paid";
    order.amount_paid = pi.amount_received;
  }

  if (pi.status === "succeeded" && charge && charge.amount_refunded > order.amount_refunded && !UNPAID.includes(order.status) && order.status !== "refunded") {
    const full = charge.amount_refunded >= (order.amount_paid || pi.amount_received);
    const changed = await moveAndAnnounce(ctx, [outboxEvent("email.order_refunded", { order_id: order.id, amount_refunded: charge.amount_refunded }, ctx.traceId)], async (tx) => {
      const t = await transitionOrder(tx, order.id, {
        to: full ? "refunded" : "partially_refunded",
        reason: "charge.refunded",
        actor: "stripe",
        ref: cause,
        details: { amount_refunded: charge.amount_refunded },
        allowSame: !full,
        set: [sql`amount_refunded = greatest(amount_refunded, ${charge.amount_refunded})`],
      });
      return t.changed;
    });
    return changed ? "refund_recorded" : "unchanged";
  }
  if (pi.status === "succeeded") return order.status === "paid" ? "paid" : "unchanged";

  if ((pi.status === "canceled" || (pi.status === "requires_payment_method" && pi.last_payment_error)) && (order.status === "pending_payment" || order.status === "payment_failed")) {
    const to: OrderStatus = pi.status === "canceled" ? "cancelled" : "payment_failed";
    if (to === order.status) return "unchanged";
    // Failure or cancellation gives the stock back; a later success re-reserves (see above).
    await Promise.all(order.lines.map((l) => release(env, l.sku, l.hold_id)));
    const events = to === "payment_failed" ? [outboxEvent("email.payment_failed", { order_id: order.id }, ctx.traceId)] : [];
    const changed = await moveAndAnnounce(ctx, events, async (tx) => {
      const t = await transitionOrder(tx, order.id, {
        to,
        reason: pi.status === "canceled" ? "payment_intent.canceled" : "payment_intent.payment_failed",
        actor: "stripe",
        ref: cause,
        details: pi.last_payment_error ? { code: pi.last_payment_error.code ?? null, decline_code: pi.last_payment_error.decline_code ?? null } : null,
      });
      return t.changed;
    });
    return changed ? (to === "cancelled" ? "cancelled" : "payment_failed") : "unchanged";
  }
  return "unchanged";
}

/**
 * Reconciliation for an order whose holds lapsed unpaid: ask Stripe first (a success may be in flight), then cancel
 * the PaymentIntent and expire the order.
 */
export async function expireIfUnpaid(ctx: ServiceContext, orderId: string): Promise<SyncOutcome> {
  const { env, config } = ctx;
  const synced = await syncOrderPayment(ctx, orderId, "reconciliation");
  const order = await loadOrder(ctx.db, orderId);
  if (!order || !(order.status === "pending_payment" || order.status === "payment_failed")) return synced;
  if (order.payment_intent_id) {
    const pi = await stripeClient(config).paymentIntents.retrieve(order.payment_intent_id);
    if (pi.status === "succeeded" || pi.status === "processing") return synced;
    if (pi.status !== "canceled") await stripeClient(config).paymentIntents.cancel(pi.id, { cancellation_reason: "abandoned" }, { idempotencyKey: `expire:${order.id}` });
  }
  await Promise.all(order.lines.map((l) => release(env, l.sku, l.hold_id)));
  const changed = await moveAndAnnounce(ctx, [], async (tx) => (await transitionOrder(tx, order.id, { to: "expired", reason: "holds_expired", actor: "reconciliation" })).changed);
  return changed ? "expired" : "unchanged";
}
