/**
 * Cron work (every minute): re-send outbox rows that were not dispatched right after their commit, and reconcile
 * orders whose holds lapsed unpaid with Stripe (a success that never reached us is applied; otherwise the
 * PaymentIntent is cancelled and the order expired). Once an hour, expired bookkeeping rows are pruned.
 */
import { sql } from "drizzle-orm";
import { expireIfUnpaid } from "./payments/sync";
import { errorFields } from "./platform/logger";
import { getConfig } from "./platform/config";
import { DbRouter } from "./platform/db";
import { createLogger } from "./platform/logger";
import { dispatchOutbox } from "./platform/outbox-dispatch";
import { pruneExpired } from "./platform/retention";

/** Orders still unpaid a minute after their holds lapsed, oldest first, a bounded batch per run. */
export async function reconcileStuckOrders(env: Env, db: DbRouter, log: ReturnType<typeof createLogger>, limit = 50): Promise<Record<string, number>> {
  const config = getConfig(env);
  const { value } = await db.read(
    (r) => r.rows<{ id: string }>(sql`select id from orders where status in ('pending_payment', 'payment_failed')
      and holds_expire_at < now() - interval '60 seconds' order by holds_expire_at limit ${limit}`),
    { primary: true },
  );
  const outcomes: Record<string, number> = {};
  for (const { id } of value) {
    try {
      const outcome = await expireIfUnpaid(env, config, db, log, id);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    } catch (err) {
      outcomes.error = (outcomes.error ?? 0) + 1;
      log.error("reconcile_failed", { order_id: id, ...errorFields(err) });
    }
  }
  if (value.length > 0) log.info("orders_reconciled", outcomes);
  return outcomes;
}

/** The Worker's `scheduled` handler. */
export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = getConfig(env);
  const log = createLogger(config.logLevel, { job: "outbox_sweep", env: config.environment });
  const db = new DbRouter(config, log);
  try {
    const sent = await db.write((primary) => dispatchOutbox(env, primary, log, { olderThanSeconds: 30, limit: 500 }));
    if (sent > 0) log.info("outbox_swept", { sent });
    await reconcileStuckOrders(env, db, log);
    // The minute is fixed so that every environment prunes once an hour, whatever its cron list.
    if (new Date(controller.scheduledTime).getUTCMinutes() === 17) {
      const pruned = await db.write((primary) => pruneExpired(primary));
      if (pruned.outbox + pruned.search_index_jobs > 0) log.info("retention_pruned", pruned);
    }
  } finally {
    ctx.waitUntil(db.end());
  }
}
