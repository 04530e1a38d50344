/**
 * The payment-webhooks consumer: one stored Stripe event per message. An event already processed is acknowledged
 * without effect; otherwise the order is synced with Stripe (workers/payments/sync.ts) and the event marked
 * processed. A message whose event is not stored (yet) is retried, then dead-lettered — never dropped.
 */
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { AppConfig } from "../workers/platform/config";
import type { DbRouter } from "../workers/platform/db";
import type { Logger } from "../workers/platform/logger";
import { errorFields } from "../workers/platform/logger";
import { orderIdFor, syncOrderPayment } from "../workers/payments/sync";
import { backoffSeconds, envelopeSchema } from "./envelope";

const taskSchema = z.object({ task_name: z.literal("payment.stripe_event"), payload: z.object({ event_id: z.string().regex(/^evt_\w+$/) }) });

/** Processes one message; returns the outcome (throws to have it retried). */
export async function processPaymentMessage(body: unknown, env: Env, config: AppConfig, db: DbRouter, log: Logger): Promise<string> {
  const envelope = envelopeSchema.parse(body);
  const task = taskSchema.parse({ task_name: envelope.task_name, payload: envelope.payload });
  const eventId = task.payload.event_id;
  const { value } = await db.read(
    (r) => r.rows<{ type: string; payment_intent_id: string | null; order_id: string | null; processed: boolean }>(sql`
      select type, payment_intent_id, order_id, processed_at is not null as processed from payment_events where event_id = ${eventId}`),
    { primary: true },
  );
  const event = value[0];
  if (!event) throw new Error(`payment event ${eventId} is not stored`);
  if (event.processed) return "duplicate";
  const orderId = await orderIdFor(db, config, event.payment_intent_id, event.order_id);
  const outcome = orderId ? await syncOrderPayment(env, config, db, log, orderId, eventId) : "order_missing";
  await db.write((primary) => primary.execute(sql`update payment_events set processed_at = now(), outcome = ${outcome}, order_id = coalesce(order_id, ${orderId}) where event_id = ${eventId}`));
  return outcome;
}

/** Handles a batch message by message: ack what succeeded, retry with backoff what failed. */
export async function consumePaymentBatch(batch: MessageBatch, env: Env, config: AppConfig, db: DbRouter, log: Logger): Promise<void> {
  for (const message of batch.messages) {
    try {
      const outcome = await processPaymentMessage(message.body, env, config, db, log);
      log.info("payment_event_processed", { message_id: message.id, outcome, attempts: message.attempts });
      message.ack();
    } catch (err) {
      log.error("payment_event_failed", { message_id: message.id, attempts: message.attempts, ...errorFields(err) });
      message.retry({ delaySeconds: backoffSeconds(message.attempts, config.queueBackoffBaseSeconds) });
    }
  }
}
