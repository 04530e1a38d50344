/** Cron work: re-send outbox rows that were not dispatched right after their commit. */
import { getConfig } from "./platform/config";
import { DbRouter } from "./platform/db";
import { createLogger } from "./platform/logger";
import { dispatchOutbox } from "./platform/outbox-dispatch";

/** The Worker's `scheduled` handler. */
export async function handleScheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = getConfig(env);
  const log = createLogger(config.logLevel, { job: "outbox_sweep", env: config.environment });
  const db = new DbRouter(config, log);
  try {
    const sent = await db.write((primary) => dispatchOutbox(env, primary, log, { olderThanSeconds: 30, limit: 500 }));
    if (sent > 0) log.info("outbox_swept", { sent });
  } finally {
    ctx.waitUntil(db.end());
  }
}
