/** The message envelope every queue carries: `{ task_name, job_id, payload, created_at, trace_id }`. */
import { z } from "zod";

export const envelopeSchema = z.object({
  task_name: z.string().min(1).max(100),
  job_id: z.uuid(),
  payload: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  trace_id: z.string().nullable(),
});
export type Envelope = z.output<typeof envelopeSchema>;

/** Email tasks and their payloads. */
export const emailTaskSchema = z.discriminatedUnion("task_name", [
  z.object({ task_name: z.literal("email.verify_email"), payload: z.object({ user_id: z.uuid() }) }),
  z.object({ task_name: z.literal("email.password_reset"), payload: z.object({ user_id: z.uuid() }) }),
  // Keyed by the address so the request does the same work whether or not it has an account.
  z.object({ task_name: z.literal("email.password_reset_request"), payload: z.object({ email: z.string().min(3).max(254) }) }),
  z.object({ task_name: z.literal("email.signup_attempt"), payload: z.object({ user_id: z.uuid() }) }),
  z.object({ task_name: z.literal("email.order_confirmation"), payload: z.object({ order_id: z.uuid() }) }),
  z.object({ task_name: z.literal("email.payment_failed"), payload: z.object({ order_id: z.uuid() }) }),
  z.object({ task_name: z.literal("email.order_refunded"), payload: z.object({ order_id: z.uuid(), amount_refunded: z.number().int().min(0) }) }),
  z.object({ task_name: z.literal("email.out_of_stock_after_payment"), payload: z.object({ order_id: z.uuid(), skus: z.array(z.string()).default([]) }) }),
]);
export type EmailTask = z.output<typeof emailTaskSchema>;

/** Exponential backoff for a retried message: base, 2×base, 4×base … seconds (base 2 by default), capped at 5 minutes. */
export function backoffSeconds(attempts: number, base = 2): number {
  return Math.min(300, base * 2 ** Math.max(0, attempts - 1));
}

/** One StockDO ledger entry on its way to Postgres; job_id is the movement id. */
export const inventoryMovementSchema = z.object({
  task_name: z.literal("inventory.movement"),
  payload: z.object({
    sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/),
    delta: z.number().int(),
    reason: z.enum(["initial", "restock", "sale", "return", "adjustment", "correction"]),
    ref: z.string().max(200).nullable(),
    on_hand_after: z.number().int().min(0),
    /** Present on staff adjustments: the audit row the consumer writes in the movement's transaction. */
    audit: z
      .object({
        actor_id: z.string().max(200).nullable(),
        actor_role: z.string().min(1).max(50),
        note: z.string().max(200).nullable(),
        request_id: z.string().max(200).nullable(),
        idempotency_key: z.string().max(100).nullable(),
      })
      .optional(),
  }),
});

/** A StockDO's coalesced availability report: units held right now, newest `seq` wins. */
export const inventoryAvailabilitySchema = z.object({
  task_name: z.literal("inventory.availability"),
  payload: z.object({
    sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/),
    held: z.number().int().min(0),
    on_hand: z.number().int(),
    seq: z.number().int().min(1),
  }),
});

/** A search index job: which product changed (the consumer re-reads it; the message never carries its state). */
export const searchIndexTaskSchema = z.object({
  task_name: z.enum(["catalog.product.changed"]),
  payload: z.looseObject({ product_id: z.number().int().positive() }),
});
