/**
 * POST /webhooks/stripe: verify the signature (SubtleCrypto, 300 s tolerance), store the event once by its id and
 * queue it through the outbox (same transaction), answer 200 fast. Processing happens in the payment-webhooks
 * consumer, so Stripe's delivery never waits on our stock or email work.
 */
import { Hono } from "hono";
import { sql } from "drizzle-orm";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { enqueueOutbox } from "../platform/outbox";
import { dispatchAfterCommit } from "../platform/outbox-dispatch";
import { verifyStripeWebhook } from "./stripe";

/** Event types the shop acts on; others are acknowledged and dropped. */
export const HANDLED_EVENTS = new Set(["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "charge.refunded"]);

export const stripeWebhookRoutes = new Hono<AppEnv>().post("/webhooks/stripe", async (c) => {
  const payload = await c.req.text();
  const event = await verifyStripeWebhook(c.get("config"), payload, c.req.header("stripe-signature"));
  if (!event) throw new AppError(400, "WEBHOOK_SIGNATURE_INVALID", "The Stripe-Signature header does not match this payload, or it is older than 5 minutes");
  if (!HANDLED_EVENTS.has(event.type)) return c.json({ received: true, handled: false });
  const object = event.data.object as { id: string; object: string; payment_intent?: string | { id: string } | null; metadata?: Record<string, string> };
  const paymentIntentId = object.object === "payment_intent" ? object.id : typeof object.payment_intent === "string" ? object.payment_intent : (object.payment_intent?.id ?? null);
  const db = c.get("db");
  const ids = await db.write((primary) =>
    primary.transaction(async (tx) => {
      const stored = await tx.execute(sql`insert into payment_events (event_id, type, payment_intent_id, order_id, payload)
        values (${event.id}, ${event.type}, ${paymentIntentId}, ${object.metadata?.order_id ?? null}, ${payload}::jsonb)
        on conflict (event_id) do nothing returning event_id`);
      if (stored.rows.length === 0) return [];
      return enqueueOutbox(tx, [{ queue: "payment-webhooks", taskName: "payment.stripe_event", payload: { event_id: event.id }, traceId: c.get("traceId") }]);
    }),
  );
  dispatchAfterCommit(c, ids);
  return c.json({ received: true, handled: true, duplicate: ids.length === 0 });
});
