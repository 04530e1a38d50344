/**
 * Stripe webhook events as received: the event id is unique, so a redelivered webhook is stored once; the queue
 * consumer marks each processed. The payload is kept for audit and re-drive.
 */
import { index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const paymentEvents = pgTable(
  "payment_events",
  {
    eventId: text("event_id").primaryKey(),
    type: text("type").notNull(),
    paymentIntentId: text("payment_intent_id"),
    orderId: text("order_id"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    processedAt: timestamp("processed_at", { withTimezone: true, mode: "date" }),
    outcome: text("outcome"),
  },
  (t) => [index("payment_events_pi_idx").on(t.paymentIntentId)],
);
