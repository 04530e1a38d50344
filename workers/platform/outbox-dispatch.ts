/**
 * Sends outbox rows to their queues after the transaction that wrote them committed, and marks them dispatched.
 * The cron sweep calls the same function for rows left behind (an isolate can die between commit and send);
 * consumers are idempotent by job_id, so a row sent twice does no harm.
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "./context";
import type { Database } from "./db";
import type { Logger } from "./logger";
import { errorFields } from "./logger";
import type { Envelope } from "./envelope";
import type { ServiceContext } from "./service-context";
import { serviceContext } from "./service-context";
import { QUEUE_NAMES, queueBinding } from "./queues";

interface OutboxRow extends Record<string, unknown> {
  id: string;
  queue: string;
  task_name: string;
  payload: Record<string, unknown>;
  trace_id: string | null;
  created_at: string;
}

/** Outbox queue names this Worker can send to; rows for other queues wait until their producer exists. */
const QUEUES = QUEUE_NAMES;
const binding = queueBinding;

/**
 * Dispatches the given outbox rows (or, without ids, up to `limit` undispatched rows older than `olderThanSeconds`).
 * Returns how many were sent.
 */
export async function dispatchOutbox(
  env: Env,
  db: Database,
  log: Logger,
  opts: { ids?: string[]; olderThanSeconds?: number; limit?: number } = {},
): Promise<number> {
  if (opts.ids && opts.ids.length === 0) return 0;
  const where = opts.ids
    ? sql`id in (${sql.join(opts.ids.map((i) => sql`${i}::uuid`), sql`, `)})`
    : sql`created_at < now() - make_interval(secs => ${opts.olderThanSeconds ?? 30})`;
  const rows = await db.execute<OutboxRow>(sql`
    select id, queue, task_name, payload, trace_id, to_json(created_at) #>> '{}' as created_at
    from outbox where dispatched_at is null and ${where}
      and queue in (${sql.join(QUEUES.map((q) => sql`${q}`), sql`, `)})
    order by created_at limit ${opts.limit ?? 100}`);
  let sent = 0;
  for (const row of rows.rows) {
    const q = binding(env, row.queue);
    if (!q) continue;
    const envelope: Envelope = { task_name: row.task_name, job_id: row.id, payload: row.payload, created_at: row.created_at, trace_id: row.trace_id };
    try {
      await q.send(envelope, { contentType: "json" });
      await db.execute(sql`update outbox set dispatched_at = now(), attempts = attempts + 1 where id = ${row.id}`);
      sent++;
    } catch (err) {
      log.warn("outbox_dispatch_failed", { outbox_id: row.id, ...errorFields(err) });
      await db.execute(sql`update outbox set attempts = attempts + 1, last_error = ${err instanceof Error ? err.message : String(err)} where id = ${row.id}`);
    }
  }
  return sent;
}

/**
 * Sends freshly committed outbox rows in the background (waitUntil), tracked by the context's router so its pools
 * stay open until the send is done; a failure leaves the rows to the cron sweep.
 */
export function dispatchSoon(ctx: ServiceContext, ids: string[]): void {
  if (ids.length === 0) return;
  ctx.defer(
    ctx.db
      .write((primary) => dispatchOutbox(ctx.env, primary, ctx.log, { ids }))
      .then(() => undefined, (err: unknown) => ctx.log.warn("outbox_dispatch_deferred", errorFields(err))),
  );
}

/**
 * Sends freshly committed outbox rows now (queue consumers and crons, which have no response to hurry); a failure
 * is logged and left to the cron sweep, never thrown: the change they announce is already committed.
 */
export async function dispatchNow(ctx: ServiceContext, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await ctx.db.write((primary) => dispatchOutbox(ctx.env, primary, ctx.log, { ids })).catch((err: unknown) => {
    ctx.log.warn("outbox_dispatch_deferred", errorFields(err));
  });
}

/** dispatchSoon for a route handler's Hono context. */
export function dispatchAfterCommit(c: Context<AppEnv>, ids: string[]): void {
  dispatchSoon(serviceContext(c), ids);
}
