/**
 * The read path every cached endpoint shares:
 * 1. unless the session just wrote, try Redis: an entry at least as new as its scope's version is served;
 * 2. otherwise read Postgres (replica first); if the replica returns data older than the version Redis knows a
 *    writer committed, the replica lags: read again from the primary;
 * 3. store the fresh entry after the response (waitUntil).
 */
import type { Context } from "hono";
import type { AppEnv } from "./context";
import type { Database } from "./db";

export interface CachedReadSpec<T> {
  key: string;
  versionKey: string;
  ttlSeconds: number;
  /** Loads the data and the version it reflects; null data means "nothing there" and is not cached. */
  load: (db: Database) => Promise<{ version: number; data: T | null }>;
}

/** Runs the cached read path; returns null when load found nothing. */
export async function cachedRead<T>(c: Context<AppEnv>, spec: CachedReadSpec<T>): Promise<T | null> {
  const cache = c.get("cache");
  const db = c.get("db");
  const ryw = c.get("readYourWrites");
  let known: number | null = null;
  if (!ryw) {
    const { entry, version } = await cache.getVersioned<T>(spec.key, spec.versionKey);
    if (entry && (version === null || entry.v >= version)) {
      c.set("servedBy", "cache");
      return entry.data;
    }
    known = version;
  }
  let { value, source } = await db.read(spec.load, { primary: ryw });
  if (source === "replica" && known !== null && value.data !== null && value.version < known) {
    c.get("log").info("replica_behind_cache_version", { key: spec.key, replica_version: value.version, known });
    ({ value, source } = await db.read(spec.load, { primary: true }));
  }
  c.set("servedBy", source);
  if (value.data === null) return null;
  if (known === null || value.version >= known) {
    c.executionCtx.waitUntil(cache.put(spec.key, { v: value.version, data: value.data }, spec.ttlSeconds, spec.versionKey));
  }
  return value.data;
}
