/**
 * The checkout saga's writes to orders' tables: the pending order (with its lines, first history row and claim) in one
 * transaction, the PaymentIntent attached to it, and the compensation that cancels it when payment is refused.
 */
import { sql } from "drizzle-orm";
import type { DbRouter } from "../platform/db";

/** An order's amounts in minor units (checkout computes them). */
export interface OrderTotals {
  subtotal: number;
  discountTotal: number;
  taxTotal: number;
  shippingTotal: number;
  grandTotal: number;
}

export interface NewOrder {
  id: string;
  userId: string | null;
  cartId: string;
  checkoutKey: string;
  email: string;
  currency: string;
  totals: OrderTotals;
  taxRateBps: number;
  shippingRegion: string;
  shippingAddressEnc: string;
  couponCode: string | null;
  holdsExpireAt: Date;
  /** Who places it and how many unpaid orders they may have at once; null skips the cap (records from before it). */
  claim: { customer: string; ip: string; maxPerCustomer: number; maxPerIp: number } | null;
  lines: { variantId: number; productId: number; sku: string; title: string; format: string; unitPrice: number; quantity: number; holdId: string }[];
}

/** `totals` is set when the order already existed (a resumed saga): the amounts it was written with. */
export type PendingOrderResult = { ok: true; number: number; created: boolean; totals?: OrderTotals } | { ok: false; scope: "customer" | "ip"; max: number };

type Tx = Parameters<Parameters<DbRouter["primary"]["transaction"]>[0]>[0];

/** The order as written before (a resumed saga finds it), or null. */
async function existingOrder(tx: Tx, id: string): Promise<PendingOrderResult | null> {
  const res = await tx.execute<{ number: number; subtotal: number; discount_total: number; tax_total: number; shipping_total: number; grand_total: number }>(
    sql`select number, subtotal, discount_total, tax_total, shipping_total, grand_total from orders where id = ${id}`,
  );
  const r = res.rows[0];
  if (!r) return null;
  return {
    ok: true,
    number: Number(r.number),
    created: false,
    totals: { subtotal: Number(r.subtotal), discountTotal: Number(r.discount_total), taxTotal: Number(r.tax_total), shippingTotal: Number(r.shipping_total), grandTotal: Number(r.grand_total) },
  };
}

/**
 * Inserts the order unless it exists (a resumed saga writes the same id), and returns its number. Idempotent: the
 * saga may run this step again after a crash or a lost reply. With a claim, refuses a new order when its customer or
 * IP already has the most unpaid orders allowed: advisory locks on both keys (taken in one order, so two checkouts
 * cannot deadlock) make concurrent checkouts of one customer count one after the other.
 */
export async function createPendingOrder(db: DbRouter, o: NewOrder): Promise<PendingOrderResult> {
  return db.write((primary) =>
    primary.transaction(async (tx): Promise<PendingOrderResult> => {
      const claim = o.claim;
      if (claim) {
        // One statement for both locks (evaluated left to right, keys sorted) and a separate one for the count: a
        // statement's snapshot is taken when it starts, so counting in the locking statement could miss a claim
        // committed while it waited. Few round trips: in a flash sale every winner runs this at once.
        const [first, second] = [claim.customer, claim.ip].sort();
        await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`checkout-claim:${first}`}, 0)), pg_advisory_xact_lock(hashtextextended(${`checkout-claim:${second}`}, 0))`);
        const open = await tx.execute<{ number: number | null; by_customer: number; by_ip: number }>(sql`
          select (select number from orders where id = ${o.id}) as number,
                 count(*) filter (where c.customer_key = ${claim.customer})::int as by_customer,
                 count(*) filter (where c.ip_key = ${claim.ip})::int as by_ip
          from checkout_claims c join orders ord on ord.id = c.order_id
          where (c.customer_key = ${claim.customer} or c.ip_key = ${claim.ip})
            and ord.status = 'pending_payment' and ord.holds_expire_at > now()`);
        const counts = open.rows[0];
        if (counts?.number !== null && counts?.number !== undefined) return (await existingOrder(tx, o.id)) ?? { ok: true, number: Number(counts.number), created: false };
        if (Number(counts?.by_customer ?? 0) >= claim.maxPerCustomer) return { ok: false, scope: "customer", max: claim.maxPerCustomer };
        if (Number(counts?.by_ip ?? 0) >= claim.maxPerIp) return { ok: false, scope: "ip", max: claim.maxPerIp };
      }
      const inserted = await tx.execute<{ number: number }>(sql`
        insert into orders (id, user_id, cart_id, checkout_key, email, status, currency, subtotal, discount_total, tax_total,
          shipping_total, grand_total, tax_rate_bps, shipping_region, shipping_address_enc, coupon_code, holds_expire_at)
        values (${o.id}, ${o.userId}, ${o.cartId}, ${o.checkoutKey}, ${o.email}, 'pending_payment', ${o.currency}, ${o.totals.subtotal},
          ${o.totals.discountTotal}, ${o.totals.taxTotal}, ${o.totals.shippingTotal}, ${o.totals.grandTotal}, ${o.taxRateBps},
          ${o.shippingRegion}, ${o.shippingAddressEnc}, ${o.couponCode}, ${o.holdsExpireAt.toISOString()})
        on conflict (id) do nothing returning number`);
      const created = inserted.rows[0];
      if (!created) {
        return (await existingOrder(tx, o.id)) ?? { ok: true, number: 0, created: false };
      }
      let lineNo = 0;
      for (const l of o.lines) {
        lineNo++;
        await tx.execute(sql`insert into order_lines (order_id, line_no, variant_id, product_id, sku, title, format, unit_price, quantity, line_total, hold_id)
          values (${o.id}, ${lineNo}, ${l.variantId}, ${l.productId}, ${l.sku}, ${l.title}, ${l.format}, ${l.unitPrice}, ${l.quantity}, ${l.unitPrice * l.quantity}, ${l.holdId})`);
      }
      const history = sql`insert into order_history (order_id, from_status, to_status, reason, actor, ref)
        values (${o.id}, null, 'pending_payment', 'checkout', ${o.userId ? `user:${o.userId}` : "guest"}, ${o.checkoutKey})`;
      // The claim rides on the history insert's round trip.
      await tx.execute(
        claim ? sql`with h as (${history} returning 1) insert into checkout_claims (order_id, customer_key, ip_key) values (${o.id}, ${claim.customer}, ${claim.ip})` : history,
      );
      return { ok: true, number: Number(created.number), created: true };
    }),
  );
}

/** Records the order's PaymentIntent (once: a resumed saga gets the same intent back from Stripe). */
export async function attachPaymentIntent(db: DbRouter, orderId: string, paymentIntentId: string): Promise<void> {
  await db.write((primary) => primary.execute(sql`update orders set payment_intent_id = ${paymentIntentId} where id = ${orderId} and payment_intent_id is null`));
}

/**
 * The order step's compensation: a pending order whose payment was refused outright is cancelled (it frees its
 * unpaid-order claim, which counts pending orders only). A no-op for an order that moved on or never existed.
 */
export async function cancelPendingOrder(db: DbRouter, orderId: string, reason: string): Promise<boolean> {
  return db.write(async (primary) => {
    const res = await primary.execute(sql`
      with o as (update orders set status = 'cancelled', updated_at = now() where id = ${orderId} and status = 'pending_payment' returning id)
      insert into order_history (order_id, from_status, to_status, reason, actor, ref)
      select id, 'pending_payment', 'cancelled', ${reason}, 'system:checkout', null from o returning order_id`);
    return res.rows.length > 0;
  });
}
