/**
 * The read path every cached JSON endpoint shares:
 * 1. unless the session just wrote, try Redis: an entry at least as new as its scope's version is served as the
 *    stored bytes with its stored ETag (no parse, no re-serialise, no re-hash on a hit);
 * 2. otherwise read Postgres (replica first); if the replica returns data older than the version Redis knows a
 *    writer committed, the replica lags: read again from the primary;
 * 3. serialise once, hash once, and store the entry after the response (waitUntil).
 */
import type { Context } from "hono";
import type { AppEnv } from "./context";
import type { Reader } from "./db";
import type { CacheEntry } from "./cache";

export interface CachedJsonSpec<T> {
  key: string;
  versionKey: string;
  ttlSeconds: number;
  /** Loads the data and the version it reflects; null data means "nothing there" and is not cached. */
  load: (db: Reader) => Promise<{ version: number; data: T | null }>;
  /** The JSON body for the data, as text (a route may splice JSON that Postgres already built). */
  render: (data: T) => string;
}


async function weakEtag(body: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(body));
  return `W/"${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

function respond(c: Context<AppEnv>, entry: Pick<CacheEntry, "etag" | "body">): Response {
  c.header("ETag", entry.etag);
  c.header("Content-Type", "application/json; charset=UTF-8");
  return c.body(entry.body, 200);
}

/** Runs the cached read path and answers 200 with the JSON; null when load found nothing. */
export async function cachedJson<T>(c: Context<AppEnv>, spec: CachedJsonSpec<T>): Promise<Response | null> {
  const entry = await cachedJsonEntry(c, spec);
  return entry ? respond(c, entry) : null;
}

/**
 * The cached read path without the response: the JSON text and its ETag, for a caller that renders the data into
 * something else (a server-rendered page); it sets no response header. Null when load found nothing.
 */
export async function cachedJsonEntry<T>(c: Context<AppEnv>, spec: CachedJsonSpec<T>): Promise<Pick<CacheEntry, "etag" | "body"> | null> {
  const cache = c.get("cache");
  const db = c.get("db");
  const ryw = c.get("readYourWrites");
  let known: number | null = null;
  if (!ryw) {
    const { entry, version } = await cache.getVersioned(spec.key, spec.versionKey);
    if (entry && (version === null || entry.v >= version)) {
      c.set("servedBy", "cache");
      return entry;
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
  const body = spec.render(value.data);
  const entry: CacheEntry = { v: value.version, etag: await weakEtag(body), body };
  if (known === null || value.version >= known) {
    c.executionCtx.waitUntil(cache.put(spec.key, entry, spec.ttlSeconds, spec.versionKey));
  }
  return entry;
}
