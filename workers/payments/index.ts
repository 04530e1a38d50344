/**
 * The payments domain's public API: the Stripe client and how its refusals read to a client, the webhook route
 * (verify, store once, queue), and the stored events the payment-webhooks consumer processes. Payments knows
 * nothing of orders: moving an order on a payment is orders' job (orders' syncOrderPayment), and the consumer
 * (queues/payment-consumer.ts) is where the two meet.
 */
export { stripeClient, verifyStripeWebhook, isTransientStripeError, WEBHOOK_TOLERANCE_SECONDS } from "./stripe";
export { stripeRefusal, isUnexpectedState } from "./stripe-errors";
export { stripeWebhookRoutes, HANDLED_EVENTS } from "./webhook-routes";
export { loadStripeEvent, markStripeEventProcessed } from "./events";
export type { StoredStripeEvent } from "./events";
