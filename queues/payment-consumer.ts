/**
 * The payment-webhooks consumer: one stored Stripe event per message. An event already processed is acknowledged
 * without effect; otherwise orders syncs the order it belongs to with Stripe and payments marks the event processed.
 * This is where the two domains meet: payments owns the events, orders owns the orders. A message whose event is
 * not stored (yet) is retried, then dead-lettered — never dropped.
 */
import type { ServiceContext } from "../workers/platform/service-context";
import { envelopeSchema, backoffSeconds } from "../workers/platform/envelope";
import { stripeEventTaskSchema } from "../workers/platform/tasks";
import { errorFields } from "../workers/platform/logger";
import { loadStripeEvent, markStripeEventProcessed } from "../workers/payments";
import { orderIdForPayment, syncOrderPayment } from "../workers/orders";

/** Processes one message; returns the outcome (throws to have it retried). */
export async function processPaymentMessage(body: unknown, batchCtx: ServiceContext): Promise<string> {
  const envelope = envelopeSchema.parse(body);
  // The events this message causes (emails, index jobs) carry the trace of the webhook that started it.
  const ctx: ServiceContext = { ...batchCtx, traceId: envelope.trace_id };
  const task = stripeEventTaskSchema.parse({ task_name: envelope.task_name, payload: envelope.payload });
  const eventId = task.payload.event_id;
  const event = await loadStripeEvent(ctx, eventId);
  if (!event) throw new Error(`payment event ${eventId} is not stored`);
  if (event.processed) return "duplicate";
  const orderId = await orderIdForPayment(ctx, event.paymentIntentId, event.orderId);
  const outcome = orderId ? await syncOrderPayment(ctx, orderId, eventId) : "order_missing";
  await markStripeEventProcessed(ctx, eventId, outcome, orderId);
  return outcome;
}

/** Handles a batch message by message: ack what succeeded, retry with backoff what failed. */
export async function consumePaymentBatch(batch: MessageBatch, ctx: ServiceContext): Promise<void> {
  for (const message of batch.messages) {
    try {
      const outcome = await processPaymentMessage(message.body, ctx);
      ctx.log.info("payment_event_processed", { message_id: message.id, outcome, attempts: message.attempts });
      message.ack();
    } catch (err) {
      ctx.log.error("payment_event_failed", { message_id: message.id, attempts: message.attempts, ...errorFields(err) });
      message.retry({ delaySeconds: backoffSeconds(message.attempts, ctx.config.queueBackoffBaseSeconds) });
    }
  }
}
