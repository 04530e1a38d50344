/**
 * The stored Stripe events (payment_events): the webhook route writes each once by its id; the payment-webhooks
 * consumer reads one, has orders sync the order it belongs to, and marks it processed with the outcome.
 */
import { sql } from "drizzle-orm";
import type { ServiceContext } from "../platform/service-context";

export interface StoredStripeEvent {
  type: string;
  paymentIntentId: string | null;
  orderId: string | null;
  processed: boolean;
}

/** The stored event `eventId` (read on the primary: the webhook wrote it moments ago), or null when there is none. */
export async function loadStripeEvent(ctx: ServiceContext, eventId: string): Promise<StoredStripeEvent | null> {
  const { value } = await ctx.db.read(
    (r) => r.rows<{ type: string; payment_intent_id: string | null; order_id: string | null; processed: boolean }>(sql`
      select type, payment_intent_id, order_id, processed_at is not null as processed from payment_events where event_id = ${eventId}`),
    { primary: true },
  );
  const row = value[0];
  return row ? { type: row.type, paymentIntentId: row.payment_intent_id, orderId: row.order_id, processed: row.processed } : null;
}

/** Records that `eventId` was processed, with what came of it and the order it turned out to belong to. */
export async function markStripeEventProcessed(ctx: ServiceContext, eventId: string, outcome: string, orderId: string | null): Promise<void> {
  await ctx.db.write((primary) =>
    primary.execute(sql`update payment_events set processed_at = now(), outcome = ${outcome}, order_id = coalesce(order_id, ${orderId}) where event_id = ${eventId}`),
  );
}
