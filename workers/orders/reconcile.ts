/**
 * Reconciliation of orders whose stock holds lapsed unpaid: each is synced with Stripe (a success that never reached
 * us is applied), otherwise its PaymentIntent is cancelled and the order expired. Run by the cron every minute.
 */
import { sql } from "drizzle-orm";
import type { ServiceContext } from "../platform/service-context";
import { errorFields } from "../platform/logger";
import { expireIfUnpaid } from "./payment-sync";

/** How long after its holds lapse an unpaid order waits for a late webhook before reconciliation takes it. */
const GRACE_SECONDS = 60;

/** Reconciles up to `limit` stuck orders, oldest first; returns how many ended in each outcome (and `error`). */
export async function reconcileStuckOrders(ctx: ServiceContext, limit = 50): Promise<Record<string, number>> {
  const cutoff = new Date(ctx.clock.now().getTime() - GRACE_SECONDS * 1000).toISOString();
  const { value } = await ctx.db.read(
    (r) => r.rows<{ id: string }>(sql`select id from orders where status in ('pending_payment', 'payment_failed')
      and holds_expire_at < ${cutoff}::timestamptz order by holds_expire_at limit ${limit}`),
    { primary: true },
  );
  const outcomes: Record<string, number> = {};
  for (const { id } of value) {
    try {
      const outcome = await expireIfUnpaid(ctx, id);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    } catch (err) {
      outcomes.error = (outcomes.error ?? 0) + 1;
      ctx.log.error("reconcile_failed", { order_id: id, ...errorFields(err) });
    }
  }
  if (value.length > 0) ctx.log.info("orders_reconciled", outcomes);
  return outcomes;
}
