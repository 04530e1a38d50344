/**
 * Cron work (every minute): re-send outbox rows that were not dispatched right after their commit, and have orders
 * reconcile those whose holds lapsed unpaid (workers/orders/reconcile.ts). Once an hour, expired bookkeeping rows
 * are pruned. This file only schedules: the work itself belongs to platform (outbox, retention) and orders.
 */
import { standaloneServiceContext } from "./platform/service-context";
import { dispatchOutbox } from "./platform/outbox-dispatch";
import { pruneExpired } from "./platform/retention";
import { reconcileStuckOrders } from "./orders";

/** The Worker's `scheduled` handler. */
export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const svc = standaloneServiceContext(env, ctx, { logFields: { job: "outbox_sweep" } });
  const { db, log } = svc;
  try {
    const sent = await db.write((primary) => dispatchOutbox(env, primary, log, { olderThanSeconds: 30, limit: 500 }));
    if (sent > 0) log.info("outbox_swept", { sent });
    await reconcileStuckOrders(svc);
    // The minute is fixed so that every environment prunes once an hour, whatever its cron list.
    if (new Date(controller.scheduledTime).getUTCMinutes() === 17) {
      const pruned = await db.write((primary) => pruneExpired(primary));
      if (pruned.outbox + pruned.search_index_jobs > 0) log.info("retention_pruned", pruned);
    }
  } finally {
    ctx.waitUntil(svc.end());
  }
}
