/**
 * Retention of bookkeeping rows that only matter for a while: outbox rows once dispatched (the sweep re-sends
 * only undispatched ones) and applied search-index job ids (they dedupe redelivered queue messages, which
 * Cloudflare Queues keep for at most 4 days plus retries). Deleted in bounded batches, so one cron run stays short
 * and a backlog drains over a few runs.
 */
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";

/** How long rows are kept; longer than any queue redelivery, short enough that the tables stay small. */
export const RETENTION_DAYS = 7;

/** What can run one statement and hand back rows (a drizzle database on the primary, Worker or Node). */
export interface Executor {
  execute(query: SQL): Promise<{ rows: Record<string, unknown>[] }>;
}

async function prune(db: Executor, query: SQL): Promise<number> {
  const res = await db.execute(query);
  return Number(res.rows[0]?.n ?? 0);
}

/** Deletes up to `limit` expired rows per table; returns how many went from each. */
export async function pruneExpired(db: Executor, limit = 5_000): Promise<{ outbox: number; search_index_jobs: number }> {
  const cutoff = sql`now() - make_interval(days => ${RETENTION_DAYS})`;
  const outbox = await prune(
    db,
    sql`with gone as (delete from outbox where id in (
          select id from outbox where dispatched_at is not null and dispatched_at < ${cutoff} limit ${limit}) returning 1)
        select count(*)::int as n from gone`,
  );
  const searchIndexJobs = await prune(
    db,
    sql`with gone as (delete from search_index_jobs where job_id in (
          select job_id from search_index_jobs where processed_at < ${cutoff} limit ${limit}) returning 1)
        select count(*)::int as n from gone`,
  );
  return { outbox, search_index_jobs: searchIndexJobs };
}
