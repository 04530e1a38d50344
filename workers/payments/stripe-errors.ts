/**
 * Stripe's refusals as client errors. A refusal is a fact about the payment (already refunded, already paid,
 * amount too large), not a fault of ours: it must reach the client as a 409/422 in the envelope, never a 500.
 */
import Stripe from "stripe";
import { AppError } from "../platform/errors";
import type { ErrorCode } from "../platform/errors";
import { isTransientStripeError } from "./stripe";

/** Stripe error `code`s and what they mean to our client. */
const REFUSALS: Record<string, { code: ErrorCode; message: string }> = {
  charge_already_refunded: { code: "ORDER_ALREADY_REFUNDED", message: "This order's payment has already been refunded in full" },
  amount_too_large: { code: "REFUND_TOO_LARGE", message: "The refund is larger than what is left to refund" },
  charge_not_refundable: { code: "ORDER_NOT_REFUNDABLE", message: "This order's payment cannot be refunded (not captured or not succeeded)" },
  charge_disputed: { code: "ORDER_NOT_REFUNDABLE", message: "This order's payment is disputed and cannot be refunded" },
  payment_intent_unexpected_state: { code: "PAYMENT_STATE_CONFLICT", message: "The payment is in a state that does not allow this" },
};

/**
 * Turns an error from a Stripe call into an AppError: known refusals → 409/422 with our code; a reused idempotency key
 * with other parameters → 422; network trouble, Stripe 5xx and rate limits → 503 (retry); other invalid requests → 422.
 * Anything that is not a Stripe error is returned unchanged (a bug of ours stays a 500).
 */
export function stripeRefusal(err: unknown): unknown {
  if (!(err instanceof Stripe.errors.StripeError)) return err;
  if (isTransientStripeError(err)) {
    return new AppError("PAYMENT_PROVIDER_UNAVAILABLE", "The payment provider is not answering; retry shortly", null, { "Retry-After": "5" });
  }
  if (err.type === "StripeIdempotencyError") {
    return new AppError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used with different parameters");
  }
  const known = err.code ? REFUSALS[err.code] : undefined;
  if (known) return new AppError(known.code, known.message, { provider_code: err.code });
  return new AppError("PAYMENT_PROVIDER_REFUSED", "The payment provider refused this request", { provider_code: err.code ?? null });
}

/** True when `err` is Stripe refusing because the PaymentIntent moved on (paid, processing, already cancelled). */
export function isUnexpectedState(err: unknown): boolean {
  return err instanceof Stripe.errors.StripeError && err.code === "payment_intent_unexpected_state";
}
