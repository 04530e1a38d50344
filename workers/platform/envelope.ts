/**
 * The message envelope every queue carries: `{ task_name, job_id, payload, created_at, trace_id }`. It lives in
 * platform because both sides use it: the outbox dispatcher writes it, every queue consumer reads it.
 */
import { z } from "zod";

export const envelopeSchema = z.object({
  task_name: z.string().min(1).max(100),
  job_id: z.uuid(),
  payload: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  trace_id: z.string().nullable(),
});
export type Envelope = z.output<typeof envelopeSchema>;

/** Exponential backoff for a retried message: base, 2×base, 4×base … seconds (base 2 by default), capped at 5 minutes. */
export function backoffSeconds(attempts: number, base = 2): number {
  return Math.min(300, base * 2 ** Math.max(0, attempts - 1));
}
