/**
 * Reading orders (the owner's list and detail; guests by signed order token) and the staff/customer actions on them.
 * Anyone else's order is a 404: the query itself is scoped to the caller, so there is nothing to leak.
 */
import { sql } from "drizzle-orm";
import type { ServiceContext } from "../platform/service-context";
import { AppError } from "../platform/errors";
import { decryptPiiJson, parsePiiKeyRing } from "../platform/pii";
import { verifySignedValue } from "../platform/signing";
import { writeAudit } from "../platform/audit";
import { isUnexpectedState, stripeClient, stripeRefusal } from "../payments";
import { syncOrderPayment } from "./payment-sync";
import { orderNumber } from "./order-number";
import { transitionOrder } from "./state-machine";
import type { OrderStatus } from "./tables";
import type { OrderAddress, OrderDetail, OrderSummary, RefundResult, SimulatedPayment } from "./response-schemas";

/** Who is looking at an order: a signed-in user, and/or a guest holding the order's signed token. */
export interface OrderViewer {
  userId: string | null;
  orderToken: string | null;
}

/** Who acts in the staff console, as the audit log records it. */
export interface StaffActor {
  /** The staff user's id, or null for the interim ADMIN_API_TOKEN. */
  actorId: string | null;
  role: string;
  ipHash: string | null;
}

const notFound = (): AppError => new AppError("ORDER_NOT_FOUND", "Order was not found");

type OrderRow = {
  id: string;
  /** bigserial: the driver answers it as a string. */
  number: number | string;
  user_id: string | null;
  status: OrderStatus;
  email: string;
  currency: string;
  subtotal: number;
  discount_total: number;
  tax_total: number;
  shipping_total: number;
  grand_total: number;
  amount_paid: number;
  amount_refunded: number;
  shipping_address_enc: string;
  payment_intent_id: string | null;
  holds_expire_at: string;
  created_at: string;
  lines: OrderDetail["lines"];
  history: OrderDetail["history"];
};

/** Whether `viewer` may see the order: its owner, or a guest holding the order's signed token. */
async function mayRead(ctx: ServiceContext, viewer: OrderViewer, orderId: string, ownerId: string | null): Promise<boolean> {
  if (viewer.userId && ownerId === viewer.userId) return true;
  if (!viewer.orderToken) return false;
  return (await verifySignedValue(ctx.config.cookieSecret, "order", viewer.orderToken)) === orderId;
}

async function loadOrder(ctx: ServiceContext, orderId: string): Promise<OrderRow | null> {
  const { value } = await ctx.db.read(
    (r) =>
      r.rows<OrderRow>(sql`
        select o.id, o.number, o.user_id, o.status, o.email, o.currency, o.subtotal, o.discount_total, o.tax_total, o.shipping_total,
          o.grand_total, o.amount_paid, o.amount_refunded, o.shipping_address_enc, o.payment_intent_id,
          to_json(o.holds_expire_at) #>> '{}' as holds_expire_at, to_json(o.created_at) #>> '{}' as created_at,
          coalesce((select json_agg(json_build_object('sku', l.sku, 'title', l.title, 'format', l.format, 'quantity', l.quantity,
                     'unit_price', l.unit_price, 'line_total', l.line_total) order by l.line_no) from order_lines l where l.order_id = o.id), '[]') as lines,
          coalesce((select json_agg(json_build_object('from', h.from_status, 'to', h.to_status, 'reason', h.reason, 'at', h.created_at) order by h.id)
                     from order_history h where h.order_id = o.id), '[]') as history
        from orders o where o.id = ${orderId}`),
    // Order confirmation reads the primary: a shopper must see the state a webhook just wrote.
    { primary: true },
  );
  return value[0] ?? null;
}

/** The order as the API shows it: every field named (no owner id, no ciphertext), the address decrypted. */
async function present(ctx: ServiceContext, o: OrderRow): Promise<OrderDetail> {
  const ring = parsePiiKeyRing(ctx.config.piiKeys);
  return {
    id: o.id,
    number: orderNumber(Number(o.number)),
    status: o.status,
    email: o.email,
    currency: o.currency,
    subtotal: o.subtotal,
    discount_total: o.discount_total,
    tax_total: o.tax_total,
    shipping_total: o.shipping_total,
    grand_total: o.grand_total,
    amount_paid: o.amount_paid,
    amount_refunded: o.amount_refunded,
    payment_intent_id: o.payment_intent_id,
    holds_expire_at: o.holds_expire_at,
    created_at: o.created_at,
    lines: o.lines,
    history: o.history,
    shipping_address: await decryptPiiJson<OrderAddress>(ring, o.shipping_address_enc, `order-address:${o.id}`),
  };
}

/** GET /orders/:id for its owner or token holder; anyone else gets the same 404 as for a missing order. */
export async function orderDetail(ctx: ServiceContext, viewer: OrderViewer, orderId: string): Promise<OrderDetail> {
  const o = await loadOrder(ctx, orderId);
  if (!o || !(await mayRead(ctx, viewer, o.id, o.user_id))) throw notFound();
  return present(ctx, o);
}

/** One page of the signed-in user's orders; `next_cursor` continues after the last one, null on the last page. */
export interface OrderListPage {
  orders: OrderSummary[];
  next_cursor: string | null;
}

/** GET /orders: the signed-in user's orders, newest first, keyset-paginated by number. */
export async function listOrders(ctx: ServiceContext, userId: string | null, limit: number, before: number | null): Promise<OrderListPage> {
  if (!userId) throw new AppError("AUTHENTICATION_REQUIRED", "Sign in to do this");
  const { value } = await ctx.db.read(
    (r) =>
      r.rows<{ id: string; number: number | string; status: OrderStatus; currency: string; grand_total: number; created_at: string; item_count: number }>(sql`
        select o.id, o.number, o.status, o.currency, o.grand_total, to_json(o.created_at) #>> '{}' as created_at,
          (select coalesce(sum(quantity), 0)::int from order_lines l where l.order_id = o.id) as item_count
        from orders o where o.user_id = ${userId} ${before === null ? sql`` : sql`and o.number < ${before}`}
        order by o.number desc limit ${limit + 1}`),
    { primary: ctx.readYourWrites },
  );
  const page = value.slice(0, limit);
  const last = page[page.length - 1];
  return { orders: page.map((o) => ({ ...o, number: orderNumber(Number(o.number)) })), next_cursor: value.length > limit && last ? String(last.number) : null };
}

/** POST /orders/:id/cancel: the owner gives up an unpaid order; Stripe cancels the PaymentIntent, stock returns. */
export async function cancelOrder(ctx: ServiceContext, viewer: OrderViewer, orderId: string): Promise<OrderDetail> {
  const o = await loadOrder(ctx, orderId);
  if (!o || !(await mayRead(ctx, viewer, o.id, o.user_id))) throw notFound();
  if (o.status !== "pending_payment" && o.status !== "payment_failed") {
    throw new AppError("ORDER_NOT_CANCELLABLE", `An order in status ${o.status} cannot be cancelled here`, { status: o.status });
  }
  const config = ctx.config;
  if (o.payment_intent_id) {
    try {
      await stripeClient(config).paymentIntents.cancel(o.payment_intent_id, { cancellation_reason: "requested_by_customer" }, { idempotencyKey: `cancel:${o.id}` });
    } catch (err) {
      // Stripe refuses when the payment moved on first (paid, processing, already cancelled): record what happened,
      // then answer with it. A payment that won the race is a 409, not a cancelled order and not a 500.
      if (!isUnexpectedState(err)) throw stripeRefusal(err);
      await syncOrderPayment(ctx, o.id, "customer_cancel");
      const now = await loadOrder(ctx, orderId);
      if (now?.status === "cancelled") return present(ctx, now);
      throw new AppError("ORDER_NOT_CANCELLABLE", "The payment went through before the cancellation; the order can no longer be cancelled", { status: now?.status ?? o.status });
    }
  }
  await syncOrderPayment(ctx, o.id, "customer_cancel");
  return orderDetail(ctx, viewer, orderId);
}

const STAFF_MOVES: OrderStatus[] = ["fulfilled", "shipped", "delivered"];

/** POST /admin/orders/:id/status: staff move a paid order along fulfilment (audited). */
export async function staffTransition(ctx: ServiceContext, actor: StaffActor, orderId: string, to: OrderStatus, note: string | null): Promise<OrderDetail> {
  if (!STAFF_MOVES.includes(to)) throw new AppError("INVALID_TRANSITION", `Staff can move orders to ${STAFF_MOVES.join(", ")}`);
  const result = await ctx.db.write((db) =>
    db.transaction(async (tx) => {
      const t = await transitionOrder(tx, orderId, { to, reason: "staff", actor: actor.actorId ? `user:${actor.actorId}` : "staff-token", details: note ? { note } : null });
      if (t.changed) {
        await writeAudit(tx, { actorId: actor.actorId, actorRole: actor.role, action: "order.status", targetType: "order", targetId: orderId, requestId: ctx.requestId, ipHash: actor.ipHash, before: { status: t.from }, after: { status: to } });
      }
      return t;
    }),
  );
  if (!result.changed && result.why === "missing") throw notFound();
  if (!result.changed && result.why === "not_allowed") throw new AppError("INVALID_TRANSITION", `Cannot move an order from ${result.from} to ${to}`, { from: result.from, to });
  const o = await loadOrder(ctx, orderId);
  if (!o) throw notFound();
  return present(ctx, o);
}

/**
 * POST /admin/orders/:id/refund: a full or partial refund at Stripe; the charge.refunded webhook updates the order.
 * Refunds of one order are serialised (a transaction-scoped advisory lock on the primary, held across the Stripe
 * call), so concurrent requests reach Stripe one at a time and each sees the previous one's effect; Stripe's refusals
 * (already refunded, too large) become 409/422.
 */
export async function staffRefund(ctx: ServiceContext, actor: StaffActor, orderId: string, amount: number | undefined, requestKey: string): Promise<RefundResult> {
  const config = ctx.config;
  return ctx.db.write((db) =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`refund:${orderId}`}, 0))`);
      const { rows } = await tx.execute<{ id: string; payment_intent_id: string | null; amount_paid: number; amount_refunded: number }>(
        sql`select id, payment_intent_id, amount_paid, amount_refunded from orders where id = ${orderId}`,
      );
      const o = rows[0];
      if (!o) throw notFound();
      if (!o.payment_intent_id || Number(o.amount_paid) === 0) throw new AppError("ORDER_NOT_PAID", "Only a paid order can be refunded");
      const remaining = Number(o.amount_paid) - Number(o.amount_refunded);
      if (amount !== undefined && amount > remaining) throw new AppError("REFUND_TOO_LARGE", `At most ${remaining} can still be refunded`, { remaining });
      let refund;
      try {
        refund = await stripeClient(config).refunds.create(
          { payment_intent: o.payment_intent_id, ...(amount !== undefined ? { amount } : {}), metadata: { order_id: o.id } },
          { idempotencyKey: `refund:${o.id}:${requestKey}` },
        );
      } catch (err) {
        throw stripeRefusal(err);
      }
      await writeAudit(tx, { actorId: actor.actorId, actorRole: actor.role, action: "order.refund", targetType: "order", targetId: o.id, requestId: ctx.requestId, ipHash: actor.ipHash, after: { refund_id: refund.id, amount: refund.amount } });
      return { refund_id: refund.id, amount: refund.amount, status: refund.status };
    }),
  );
}

/**
 * POST /dev/orders/:id/simulate-payment (development and test only): pays (or declines) the order's PaymentIntent
 * at the Stripe fake with a test card, as a shopper's browser would; the fake then sends the webhook.
 */
export async function simulatePayment(ctx: ServiceContext, viewer: OrderViewer, orderId: string, outcome: "succeeded" | "declined"): Promise<SimulatedPayment> {
  const config = ctx.config;
  const o = await loadOrder(ctx, orderId);
  if (!o || !(await mayRead(ctx, viewer, o.id, o.user_id))) throw notFound();
  if (!o.payment_intent_id) throw new AppError("NO_PAYMENT_INTENT", "This order has no PaymentIntent yet");
  try {
    const pi = await stripeClient(config).paymentIntents.confirm(o.payment_intent_id, {
      payment_method: outcome === "succeeded" ? "pm_card_visa" : "pm_card_chargeDeclined",
      return_url: `${config.publicAppUrl}/checkout/complete`,
    });
    return { payment_intent: pi.id, status: pi.status };
  } catch (err) {
    const status = (err as { raw?: { payment_intent?: { status?: string } } }).raw?.payment_intent?.status;
    if (status) return { payment_intent: o.payment_intent_id, status };
    throw err;
  }
}
