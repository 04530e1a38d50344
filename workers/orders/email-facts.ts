/**
 * The facts an order email shows (recipient, number, lines, totals, the order's page), read from the primary so a
 * mail queued by a just-committed change sees that change. Emails get them from here instead of reading orders'
 * tables.
 */
import { sql } from "drizzle-orm";
import type { ServiceContext } from "../platform/service-context";
import { orderNumber } from "./order-number";
import type { OrderEmailData } from "../email";

/** Exactly what the order templates render (email's contract), so the consumer passes it through unchanged. */
export type OrderEmailFacts = OrderEmailData;

/** The facts of order `orderId` for its emails, or null when there is no such order. */
export async function orderEmailFacts(ctx: Pick<ServiceContext, "db" | "config">, orderId: string): Promise<OrderEmailFacts | null> {
  const rows = await ctx.db.write((primary) =>
    primary.execute<Omit<OrderEmailFacts, "link" | "number"> & { number: number | string; id: string }>(sql`
      select o.id, o.email, o.number, o.currency, o.subtotal, o.tax_total, o.shipping_total, o.grand_total,
        coalesce((select json_agg(json_build_object('title', l.title, 'format', l.format, 'quantity', l.quantity, 'line_total', l.line_total) order by l.line_no)
                  from order_lines l where l.order_id = o.id), '[]') as lines
      from orders o where o.id = ${orderId}`),
  );
  const o = rows.rows[0];
  if (!o) return null;
  const { id, number, ...facts } = o;
  return { ...facts, number: orderNumber(Number(number)), link: `${ctx.config.publicAppUrl}/orders/${id}` };
}
