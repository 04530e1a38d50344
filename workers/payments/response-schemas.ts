/** Schemas of the Stripe webhook: what the document says Stripe sends, and what the route answers. */
import { z } from "zod";

/**
 * The request body, as a plain JSON Schema object and deliberately not zod: @hono/zod-openapi attaches a body validator
 * (and a content-type gate) to every zod body schema, and that would parse the body before the route has checked
 * Stripe's signature over the raw bytes, and answer VALIDATION_FAILED / UNSUPPORTED_MEDIA_TYPE where the webhook must
 * answer WEBHOOK_SIGNATURE_INVALID first. The route checks the event's shape itself, after the signature
 * (WEBHOOK_EVENT_INVALID). Loose: Stripe adds fields freely.
 */
export const stripeEventBodySchema = {
  type: "object" as const,
  description: "A Stripe event, exactly as Stripe signed it (https://docs.stripe.com/api/events/object). Only these fields are relied on.",
  required: ["id", "type", "data"],
  additionalProperties: true,
  properties: {
    id: { type: "string" as const, pattern: "^evt_\\w{1,250}$", example: "evt_1QxYz1AbCdEf2345" },
    type: {
      type: "string" as const,
      minLength: 1,
      maxLength: 100,
      description: "Acted on: `payment_intent.succeeded`, `payment_intent.payment_failed`, `payment_intent.canceled`, `charge.refunded`; others are acknowledged and dropped.",
      example: "payment_intent.succeeded",
    },
    data: {
      type: "object" as const,
      required: ["object"],
      additionalProperties: true,
      properties: {
        object: {
          type: "object" as const,
          additionalProperties: true,
          description: "The PaymentIntent (`object: payment_intent`, `id: pi_…`) or Charge (`object: charge`, `id: ch_…`, `payment_intent`) the event is about; `metadata.order_id` names our order.",
        },
      },
    },
  },
};

export const webhookReceiptSchema = z
  .object({
    received: z.literal(true),
    handled: z.boolean().meta({ description: "False for event types the shop does not act on (acknowledged and dropped, not stored)." }),
    duplicate: z.boolean().optional().meta({ description: "Handled events only: true when this event id was already stored (a redelivery; nothing is queued again)." }),
  })
  .meta({ id: "WebhookReceipt" });
