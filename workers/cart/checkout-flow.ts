/**
 * Checkout as the Worker runs it: the CartDO takes the lock and the idempotency record (beginCheckout), the saga's
 * steps run here in the request (workers/checkout/saga.ts, on ports built from this request's env), and the CartDO
 * records how it ended (finishCheckout). Both CartDO calls go through the DO access layer.
 */
import { errorFields } from "../platform/logger";
import { callCart } from "../platform/do-access";
import { runCheckoutSaga } from "../checkout";
import type { SagaPorts } from "../checkout";
import type { BeginCheckout, CheckoutOutcome, CheckoutRequest } from "./types";

export interface CheckoutFlowContext {
  env: Env;
  ports: SagaPorts;
}

/** Runs one checkout request end to end; the same Idempotency-Key always leads to the same order. */
export async function runCheckout(ctx: CheckoutFlowContext, req: CheckoutRequest): Promise<CheckoutOutcome> {
  const name = `cart:${req.cartId}`;
  // Not retried: a begin whose reply was lost has taken the run lease, and a repeat would wait on itself.
  const begun = await callCart(ctx.env, name, async (s): Promise<BeginCheckout> => (await s.beginCheckout(req)) as BeginCheckout, { idempotent: false, label: "cart.beginCheckout" });
  if (begun.kind === "answer") return begun.outcome;
  const result = await runCheckoutSaga(ctx.ports, begun.input);
  try {
    return await callCart(ctx.env, name, async (s): Promise<CheckoutOutcome> => (await s.finishCheckout(req.cartId, req.idempotencyKey, begun.runId, result)) as CheckoutOutcome, { idempotent: true, label: "cart.finishCheckout" });
  } catch (err) {
    // The saga's answer stands. The record keeps the lock under this run's lease; when it ends, the same key resumes
    // and, every step being idempotent by order id, arrives at the same order.
    ctx.ports.log.error("checkout_finish_unrecorded", { order_id: begun.input.orderId, disposition: result.disposition, ...errorFields(err) });
    return result.outcome;
  }
}
