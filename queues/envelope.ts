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
]);
export type EmailTask = z.output<typeof emailTaskSchema>;

/** Exponential backoff for a retried message: 2, 4, 8 … seconds, capped at 5 minutes. */
export function backoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.max(1, attempts));
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
  }),
});

/** A search index job: which product changed (the consumer re-reads it; the message never carries its state). */
export const searchIndexTaskSchema = z.object({
  task_name: z.enum(["catalog.product.changed"]),
  payload: z.looseObject({ product_id: z.number().int().positive() }),
});
