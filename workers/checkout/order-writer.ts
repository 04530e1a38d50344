/** Step 4 of the checkout saga: the order, its lines and its first history row in one transaction. */
import { sql } from "drizzle-orm";
import type { DbRouter } from "../platform/db";
import type { Totals } from "./pricing";

export interface NewOrder {
  id: string;
  userId: string | null;
  cartId: string;
  checkoutKey: string;
  email: string;
  currency: string;
  totals: Totals;
  taxRateBps: number;
  shippingRegion: string;
  shippingAddressEnc: string;
  couponCode: string | null;
  holdsExpireAt: Date;
  lines: { variantId: number; productId: number; sku: string; title: string; format: string; unitPrice: number; quantity: number; holdId: string }[];
}

/**
 * Inserts the order unless it exists (a resumed saga writes the same id), and returns its number. Idempotent: the
 * saga may run this step again after a crash or a lost reply.
 */
export async function createPendingOrder(db: DbRouter, o: NewOrder): Promise<{ number: number; created: boolean }> {
  return db.write((primary) =>
    primary.transaction(async (tx) => {
      const inserted = await tx.execute<{ number: number }>(sql`
        insert into orders (id, user_id, cart_id, checkout_key, email, status, currency, subtotal, discount_total, tax_total,
          shipping_total, grand_total, tax_rate_bps, shipping_region, shipping_address_enc, coupon_code, holds_expire_at)
        values (${o.id}, ${o.userId}, ${o.cartId}, ${o.checkoutKey}, ${o.email}, 'pending_payment', ${o.currency}, ${o.totals.subtotal},
          ${o.totals.discountTotal}, ${o.totals.taxTotal}, ${o.totals.shippingTotal}, ${o.totals.grandTotal}, ${o.taxRateBps},
          ${o.shippingRegion}, ${o.shippingAddressEnc}, ${o.couponCode}, ${o.holdsExpireAt.toISOString()})
        on conflict (id) do nothing returning number`);
      const created = inserted.rows[0];
      if (!created) {
        const existing = await tx.execute<{ number: number }>(sql`select number from orders where id = ${o.id}`);
        return { number: Number(existing.rows[0]?.number ?? 0), created: false };
      }
      let lineNo = 0;
      for (const l of o.lines) {
        lineNo++;
        await tx.execute(sql`insert into order_lines (order_id, line_no, variant_id, product_id, sku, title, format, unit_price, quantity, line_total, hold_id)
          values (${o.id}, ${lineNo}, ${l.variantId}, ${l.productId}, ${l.sku}, ${l.title}, ${l.format}, ${l.unitPrice}, ${l.quantity}, ${l.unitPrice * l.quantity}, ${l.holdId})`);
      }
      await tx.execute(sql`insert into order_history (order_id, from_status, to_status, reason, actor, ref)
        values (${o.id}, null, 'pending_payment', 'checkout', ${o.userId ? `user:${o.userId}` : "guest"}, ${o.checkoutKey})`);
      return { number: Number(created.number), created: true };
    }),
  );
}

/** Formats the human order number. */
export function orderNumber(n: number): string {
  return `NB-${String(n).padStart(6, "0")}`;
}
