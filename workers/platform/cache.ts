/**
 * Redis (Upstash REST) as a cache that fails open: every error is logged and treated as a miss, so the catalog
 * keeps answering from Postgres when Redis is down. Entries carry the version of the data they hold; a version
 * counter per scope (`ver:catalog`, `ver:product:<slug>`) tells whether an entry is still current.
 */
import { Redis } from "@upstash/redis/cloudflare";
import type { AppConfig } from "./config";
import type { Logger } from "./logger";
import { errorFields } from "./logger";
import { RAISE_SCRIPT } from "./version-counter";
import { BoundedMap } from "./bounded-map";

/**
 * A cached HTTP body with the version of the data it was rendered from and its ETag. Stored as one raw string
 * `<version>\n<etag>\n<body>` so a hit needs no JSON parsing at all: the body is sent as stored.
 */
export interface CacheEntry {
  v: number;
  etag: string;
  body: string;
}

/** Encodes an entry for Redis. */
export function encodeEntry(e: CacheEntry): string {
  return `${e.v}\n${e.etag}\n${e.body}`;
}

/** Decodes an entry written by encodeEntry; null for anything else. */
export function decodeEntry(raw: unknown): CacheEntry | null {
  if (typeof raw !== "string") return null;
  const a = raw.indexOf("\n");
  const b = a < 0 ? -1 : raw.indexOf("\n", a + 1);
  if (b < 0) return null;
  const v = Number(raw.slice(0, a));
  return Number.isSafeInteger(v) ? { v, etag: raw.slice(a + 1, b), body: raw.slice(b + 1) } : null;
}

const REDIS_TIMEOUT_MS = 400;
const CIRCUIT_MS = 3_000;
/** Per endpoint, until when Redis is treated as down (shared by the requests of one isolate). */
const downUntil = new BoundedMap<string, number>(64, 60_000);

const clients = new BoundedMap<string, Redis>(16, 3_600_000);

/** The shared Upstash client for this config (also used by the rate limiter). */
export function redisFor(config: AppConfig): Redis {
  return clientFor(config);
}

function clientFor(config: AppConfig): Redis {
  const key = `${config.redisUrl}|${config.redisToken}`;
  let client = clients.get(key);
  if (!client) {
    client = new Redis({
      url: config.redisUrl,
      token: config.redisToken,
      // The cache must never make a request slow: one quick try, no retries, a short deadline.
      retry: false,
      signal: () => AbortSignal.timeout(REDIS_TIMEOUT_MS),
      enableTelemetry: false,
      // Each request sends one MGET on the hot path; batching across ticks would only add latency.
      enableAutoPipelining: false,
      // Values are JSON text (UTF-8 safe): skipping base64 saves encoding in Redis's proxy and decoding here.
      responseEncoding: false,
      // Values are stored and read as raw strings (see CacheEntry); nothing is JSON-parsed on a hit.
      automaticDeserialization: false,
    });
    clients.set(key, client);
  }
  return client;
}

/**
 * Raises a version counter to at least `version`, never lowering it, so writers that commit out of order
 * cannot move it backwards.
 */

/** The cache of one request: namespaced keys, fail-open reads and writes. */
export class Cache {
  private readonly redis: Redis;
  private readonly ns: string;
  private readonly endpoint: string;

  constructor(
    config: AppConfig,
    private readonly log: Logger,
  ) {
    this.redis = clientFor(config);
    this.ns = config.cacheNamespace;
    this.endpoint = config.redisUrl;
  }

  key(k: string): string {
    return `${this.ns}:${k}`;
  }

  private get available(): boolean {
    return (downUntil.get(this.endpoint) ?? 0) <= Date.now();
  }

  private failed(op: string, err: unknown): void {
    downUntil.set(this.endpoint, Date.now() + CIRCUIT_MS);
    this.log.warn("cache_unavailable", { op, ...errorFields(err) });
  }

  /**
   * Reads an entry and the current version of its scope in one round trip.
   * `version` is null when the counter is unknown (never set, or Redis unavailable).
   */
  async getVersioned(key: string, versionKey: string): Promise<{ entry: CacheEntry | null; version: number | null }> {
    if (!this.available) return { entry: null, version: null };
    try {
      const [raw, ver] = await this.redis.mget<[string | null, string | null]>(this.key(key), this.key(versionKey));
      const version = ver === null ? null : Number(ver);
      return { entry: decodeEntry(raw), version: version !== null && Number.isSafeInteger(version) ? version : null };
    } catch (err) {
      this.failed("mget", err);
      return { entry: null, version: null };
    }
  }

  /** Stores an entry with a TTL; when `versionKey` has no counter yet, seeds it with the entry's version. */
  async put(key: string, entry: CacheEntry, ttlSeconds: number, versionKey?: string): Promise<void> {
    if (!this.available) return;
    try {
      const p = this.redis.pipeline();
      p.set(this.key(key), encodeEntry(entry), { ex: ttlSeconds });
      if (versionKey) p.set(this.key(versionKey), String(entry.v), { nx: true });
      await p.exec();
    } catch (err) {
      this.failed("set", err);
    }
  }

  /** Raises version counters after a committed write so older cached entries stop being served. */
  async raiseVersions(versions: Record<string, number>): Promise<boolean> {
    try {
      await Promise.all(
        Object.entries(versions).map(([k, v]) => this.redis.eval(RAISE_SCRIPT, [this.key(k)], [String(v)])),
      );
      return true;
    } catch (err) {
      this.failed("raise_versions", err);
      return false;
    }
  }

  /** A plain GET of a small string value (e.g. an ISBN → slug mapping). */
  async get(key: string): Promise<string | null> {
    if (!this.available) return null;
    try {
      const v = await this.redis.get<string>(this.key(key));
      return typeof v === "string" ? v : null;
    } catch (err) {
      this.failed("get", err);
      return null;
    }
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    if (!this.available) return;
    try {
      await this.redis.set(this.key(key), value, { ex: ttlSeconds });
    } catch (err) {
      this.failed("set", err);
    }
  }

  /**
   * Reads several small values in one round trip; null (not an array) when Redis is unavailable, so callers that
   * must not fail open can tell "absent" from "unknown".
   */
  async mget(keys: string[]): Promise<(string | null)[] | null> {
    if (!this.available) return null;
    try {
      const values = await this.redis.mget<(string | null)[]>(...keys.map((k) => this.key(k)));
      return values.map((v) => (v === null || v === undefined ? null : String(v)));
    } catch (err) {
      this.failed("mget", err);
      return null;
    }
  }

  /** Round-trip check for /readyz; never consults the circuit breaker. */
  async ping(): Promise<void> {
    const res = await this.redis.ping();
    if (res !== "PONG") throw new Error(`unexpected PING reply ${String(res)}`);
    downUntil.delete(this.endpoint);
  }
}

/** Forgets the circuit-breaker state (tests use it between fault scenarios). */
export function resetCacheHealth(): void {
  downUntil.clear();
}
