/**
 * Readiness: the primary must answer (no writes, no checkout without it); a replica or Redis being down degrades
 * the service (reads fall back to the primary, the cache to Postgres) but does not fail it.
 */
import { probeDatabase } from "../platform/db";
import type { DbSource } from "../platform/db";
import type { ServiceContext } from "../platform/service-context";
import { sql } from "drizzle-orm";

export interface DependencyStatus {
  name: string;
  status: "up" | "down";
  latency_ms: number;
  required: boolean;
  detail?: string;
  seconds_since_last_replay?: number | null;
}

export interface ReadinessReport {
  status: "ok" | "degraded" | "fail";
  checks: DependencyStatus[];
}

const TIMEOUT_MS = 2_000;

async function timed(name: string, required: boolean, fn: () => Promise<Partial<DependencyStatus> | void>): Promise<DependencyStatus> {
  const started = Date.now();
  try {
    const extra = await Promise.race([
      fn(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS)),
    ]);
    return { name, status: "up", latency_ms: Date.now() - started, required, ...(extra ?? {}) };
  } catch (err) {
    return { name, status: "down", latency_ms: Date.now() - started, required, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** Probes the primary, every replica and Redis in parallel. */
export async function checkReadiness(ctx: Pick<ServiceContext, "config" | "cache">): Promise<ReadinessReport> {
  const { config, cache } = ctx;
  const checks = await Promise.all([
    timed("postgres_primary", true, async () => {
      const r = await probeDatabase(config, config.databaseUrl, TIMEOUT_MS);
      if (r.inRecovery) throw new Error("primary is in recovery (read-only)");
    }),
    ...config.replicaUrls.map((url, i) =>
      timed(`postgres_replica_${i}`, false, async () => {
        const r = await probeDatabase(config, url, TIMEOUT_MS);
        if (!r.inRecovery) throw new Error("not a replica (pg_is_in_recovery() is false)");
        return { seconds_since_last_replay: r.lagSeconds };
      }),
    ),
    timed("redis", false, () => cache.ping()),
  ]);
  const failed = checks.some((c) => c.required && c.status === "down");
  const degraded = checks.some((c) => c.status === "down");
  return { status: failed ? "fail" : degraded ? "degraded" : "ok", checks };
}

/** One `select 1` through the context's router (a replica when one is healthy): the cost of one database round trip. */
export async function pingDatabase(ctx: Pick<ServiceContext, "db">): Promise<{ one: number | null; source: DbSource }> {
  const { value, source } = await ctx.db.read((r) => r.rows<{ one: number }>(sql`select 1 as one`));
  return { one: value[0]?.one ?? null, source };
}
