/**
 * POST /webhooks/stripe: verify the signature (SubtleCrypto, 300 s tolerance both ways), check the event's shape,
 * store the event once by its id and queue it through the outbox (same transaction), answer 200 fast. Processing
 * happens in the payment-webhooks consumer, so Stripe's delivery never waits on our stock or email work. A signed
 * but malformed event is a 400 here: queued, it could only fail in the consumer and end as a dead letter.
 */
import { sql } from "drizzle-orm";
import { z } from "zod";
import { AppError } from "../platform/errors";
import { apiRoute, apiRouter, ok } from "../platform/openapi";
import { enqueueOutbox, outboxEvent } from "../platform/outbox";
import { dispatchAfterCommit } from "../platform/outbox-dispatch";
import { verifyStripeWebhook } from "./stripe";
import { stripeEventBodySchema, webhookReceiptSchema } from "./response-schemas";

/** Event types the shop acts on; others are acknowledged and dropped. */
export const HANDLED_EVENTS = new Set(["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "charge.refunded"]);

const stripeId = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_\\w{1,250}$`), `must be a Stripe ${prefix}_ id`);
const metadata = z.record(z.string(), z.string()).optional();

/** What the consumer relies on, per handled type (Stripe adds fields freely: objects are loose). */
const handledEvent = z.discriminatedUnion("object", [
  z.looseObject({ object: z.literal("payment_intent"), id: stripeId("pi"), metadata }),
  z.looseObject({ object: z.literal("charge"), id: stripeId("ch"), payment_intent: z.union([stripeId("pi"), z.looseObject({ id: stripeId("pi") })]), metadata }),
]);
const eventEnvelope = z.looseObject({
  id: stripeId("evt"),
  type: z.string().min(1).max(100),
  data: z.looseObject({ object: z.looseObject({}) }),
});

const malformed = (why: string): AppError => new AppError("WEBHOOK_EVENT_INVALID", `The event is not a well-formed Stripe event: ${why}`);

const stripeWebhook = apiRoute({
  method: "post",
  path: "/webhooks/stripe",
  tags: ["payments"],
  summary: "Stripe's webhook: verify, store once, queue",
  description:
    "The signature is checked over the raw body before anything else (300 s tolerance, both ways). A handled event is stored once by its id and queued for processing in the same transaction; the answer comes before any processing.",
  security: [{ stripeSignature: [] }],
  // A plain JSON Schema (see response-schemas.ts): documented, never parsed ahead of the signature check.
  request: { body: { required: true, content: { "application/json": { schema: stripeEventBodySchema } } } },
  responses: { 200: ok(webhookReceiptSchema, "Received (stored and queued when handled).") },
  errors: ["WEBHOOK_SIGNATURE_INVALID", "UNSUPPORTED_MEDIA_TYPE", "WEBHOOK_EVENT_INVALID", "DATABASE_UNAVAILABLE"],
});

export const stripeWebhookRoutes = apiRouter().openapi(stripeWebhook, async (c) => {
  const payload = await c.req.text();
  const event = await verifyStripeWebhook(c.get("config"), payload, c.req.header("stripe-signature"));
  if (!event) throw new AppError("WEBHOOK_SIGNATURE_INVALID", "The Stripe-Signature header does not match this payload, or it is more than 5 minutes old or ahead");
  // Stripe sends application/json; a signed body of any other type is not an event we read.
  if (c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase() !== "application/json") throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Stripe events are application/json");
  const envelope = eventEnvelope.safeParse(event);
  if (!envelope.success) throw malformed(envelope.error.issues.map((i) => `${i.path.join(".") || "(event)"} ${i.message}`).slice(0, 5).join("; "));
  if (!HANDLED_EVENTS.has(envelope.data.type)) return c.json({ data: { received: true as const, handled: false } }, 200);
  const parsedObject = handledEvent.safeParse(envelope.data.data.object);
  if (!parsedObject.success) throw malformed(parsedObject.error.issues.map((i) => `data.object.${i.path.join(".")} ${i.message}`).slice(0, 5).join("; "));
  const object = parsedObject.data;
  const expected = envelope.data.type.startsWith("payment_intent.") ? "payment_intent" : "charge";
  if (object.object !== expected) throw malformed(`a ${envelope.data.type} event must carry a ${expected}, not a ${object.object}`);
  const paymentIntentId = object.object === "payment_intent" ? object.id : typeof object.payment_intent === "string" ? object.payment_intent : object.payment_intent.id;
  const eventId = envelope.data.id;
  const db = c.get("db");
  const ids = await db.write((primary) =>
    primary.transaction(async (tx) => {
      const stored = await tx.execute(sql`insert into payment_events (event_id, type, payment_intent_id, order_id, payload)
        values (${eventId}, ${envelope.data.type}, ${paymentIntentId}, ${object.metadata?.order_id ?? null}, ${payload}::jsonb)
        on conflict (event_id) do nothing returning event_id`);
      if (stored.rows.length === 0) return [];
      return enqueueOutbox(tx, [outboxEvent("payment.stripe_event", { event_id: eventId }, c.get("traceId"))]);
    }),
  );
  dispatchAfterCommit(c, ids);
  return c.json({ data: { received: true as const, handled: true, duplicate: ids.length === 0 } }, 200);
});
