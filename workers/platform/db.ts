/**
 * Postgres access for one request. Reads are single statements sent over Neon's SQL-over-HTTP endpoint (one fetch,
 * no connection setup: what Neon recommends for one-shot queries from Workers); writes use a Neon `Pool` over
 * WebSocket for interactive transactions, created on first use and ended when the request is done (Neon's rule
 * for Workers). Reads go to a replica and fall back to the primary when the replica cannot be reached; writes and
 * read-your-writes go to the primary.
 */
import { Pool, neon, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import { drizzle as drizzleHttp } from "drizzle-orm/neon-http";
import type { NeonDatabase } from "drizzle-orm/neon-serverless";
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { AppConfig } from "./config";
import type { Logger } from "./logger";
import { errorFields } from "./logger";
import { AppError } from "./errors";
import { isConnectTimeout, isConnectionError } from "./db-errors";
import { BoundedMap } from "./bounded-map";

export type Database = NeonDatabase<Record<string, never>>;

/** What read paths need: run one statement, get its rows. Implemented over the Pool or Neon's HTTP endpoint. */
export interface Reader {
  rows<T extends Record<string, unknown>>(query: SQL): Promise<T[]>;
}

/** Read options: force the primary; bound each statement (Postgres cancels it with SQLSTATE 57014 past the limit). */
export interface ReadOptions {
  primary?: boolean;
  statementTimeoutMs?: number;
}
export type DbSource = "primary" | "replica";

let localProxyConfigured: string | null = null;

/** Points the Neon driver at the local proxy (WebSocket and HTTP); production leaves the driver as it is. */
function configureNeon(localProxy: string | null): void {
  if (!localProxy || localProxyConfigured === localProxy) return;
  neonConfig.wsProxy = (host, port) => `${localProxy}/v1?address=${host}:${port}`;
  neonConfig.fetchEndpoint = () => `http://${localProxy}/sql`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  localProxyConfigured = localProxy;
}

/**
 * Endpoints that failed to connect recently, shared by the requests of one isolate: while open, reads skip the
 * endpoint instead of paying a connect timeout on every request.
 */
const unhealthyUntil = new BoundedMap<string, number>(64, 60_000);
const CIRCUIT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 3_000;
/** How long a write keeps retrying connects that timed out before it answers 503. */
const WRITE_CONNECT_BUDGET_MS = 8_000;
/** Upper bound for one read over HTTP (Neon's own limit is much higher; a catalog read should never take this). */
const READ_TIMEOUT_MS = 5_000;

function isHealthy(url: string): boolean {
  const until = unhealthyUntil.get(url);
  return until === undefined || until <= Date.now();
}

/** A request's handle on the primary and the replicas. */
export class DbRouter {
  private pools: Pool[] = [];
  private primaryDb: Database | null = null;
  private readers = new Map<string, Reader>();
  private replicaUrl: string | null | undefined = undefined;
  /** Set when this request wrote to the primary; the app then marks the session for read-your-writes. */
  wrote = false;

  constructor(
    private readonly config: AppConfig,
    private readonly log: Logger,
  ) {
    configureNeon(config.neonLocalProxy);
  }

  private open(url: string): Database {
    const pool = new Pool({ connectionString: url, max: 2, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // A pool emits 'error' for idle clients that die; without a listener that would be an uncaught exception.
    pool.on("error", (err: Error) => this.log.warn("db_pool_error", errorFields(err)));
    this.pools.push(pool);
    return drizzle({ client: pool });
  }

  /** The primary over WebSocket, for transactions and reads inside them. */
  get primary(): Database {
    this.primaryDb ??= this.open(this.config.databaseUrl);
    return this.primaryDb;
  }

  private reader(url: string, statementTimeoutMs?: number): Reader {
    const key = `${url}|${statementTimeoutMs ?? ""}`;
    let r = this.readers.get(key);
    if (!r) {
      const db = drizzleHttp({ client: neon(url, { fetchOptions: { signal: AbortSignal.timeout(READ_TIMEOUT_MS) } }) });
      r =
        statementTimeoutMs === undefined
          ? { rows: async <T extends Record<string, unknown>>(q: SQL) => (await db.execute<T>(q)).rows }
          : {
              // One HTTP request, one transaction: the timeout is set locally, so it ends with the transaction and
              // never leaks to the pooled connection.
              rows: async <T extends Record<string, unknown>>(q: SQL) => {
                const [, result] = await db.batch([
                  db.execute(sql`select set_config('statement_timeout', ${String(Math.max(1, Math.round(statementTimeoutMs)))}, true)`),
                  db.execute<T>(q),
                ]);
                return result.rows;
              },
            };
      this.readers.set(key, r);
    }
    return r;
  }

  /** One healthy replica for this request, chosen at random, or null. */
  private replica(): string | null {
    if (this.replicaUrl !== undefined) return this.replicaUrl;
    const healthy = this.config.replicaUrls.filter(isHealthy);
    const picked = healthy[Math.floor(Math.random() * healthy.length)] ?? null;
    this.replicaUrl = picked;
    return picked;
  }

  /**
   * Runs a read on a replica (or the primary when `primary` is set, or no replica is healthy). A connection
   * failure on one side is retried once on the other, so a replica outage degrades to primary reads and a primary
   * outage still serves reads from the replica.
   */
  async read<T>(fn: (db: Reader) => Promise<T>, opts: ReadOptions = {}): Promise<{ value: T; source: DbSource }> {
    const replica = this.replica();
    const targets: [DbSource, string][] = [["primary", this.config.databaseUrl]];
    if (replica) {
      if (opts.primary) targets.push(["replica", replica]);
      else targets.unshift(["replica", replica]);
    }
    // An endpoint that failed moments ago goes last instead of first.
    if (targets.length > 1 && !isHealthy((targets[0] as [DbSource, string])[1])) targets.reverse();
    for (const [source, url] of targets) {
      try {
        return { value: await fn(this.reader(url, opts.statementTimeoutMs)), source };
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        unhealthyUntil.set(url, Date.now() + CIRCUIT_MS);
        this.log.warn("db_unreachable", { source, ...errorFields(err) });
      }
    }
    throw new AppError("DATABASE_UNAVAILABLE", "The database is unreachable; retry shortly", null, {
      "Retry-After": "5",
    });
  }

  /**
   * Runs a write on the primary; marks the request as a writer for read-your-writes.
   * `retryConnect`: for work that is one transaction (or otherwise safe to run again): a connect that timed out sent
   * nothing, so it is tried again (twice at most, within WRITE_CONNECT_BUDGET_MS). Under a burst of new connections
   * (a flash sale's winners all writing their orders at once) a slow connect must not turn a sale into a 503.
   */
  async write<T>(fn: (db: Database) => Promise<T>, opts: { retryConnect?: boolean } = {}): Promise<T> {
    const started = Date.now();
    const attempts = opts.retryConnect === true ? 3 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await fn(this.primary);
        this.wrote = true;
        return value;
      } catch (err) {
        if (attempt < attempts && isConnectTimeout(err) && Date.now() - started < WRITE_CONNECT_BUDGET_MS) {
          this.log.warn("db_connect_retry", { attempt, ...errorFields(err) });
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 200 * attempt));
          continue;
        }
        throw this.writeFailure(err);
      }
    }
  }

  /** What a failed write throws: AppErrors and statement errors as they are, an unreachable primary as a 503. */
  private writeFailure(err: unknown): unknown {
    if (err instanceof AppError || !isConnectionError(err)) return err;
    this.log.error("db_primary_unreachable", errorFields(err));
    return new AppError("DATABASE_UNAVAILABLE", "The database is unreachable; retry shortly", null, {
      "Retry-After": "5",
    });
  }

  private background: Promise<unknown>[] = [];

  /** Registers work that outlives the response (waitUntil) and still needs the pools: end() waits for it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.background.push(work.catch(() => undefined));
    return work;
  }

  /** Ends every pool this request opened, after any tracked background work. */
  async end(): Promise<void> {
    while (this.background.length > 0) {
      const pending = this.background;
      this.background = [];
      await Promise.allSettled(pending);
    }
    const pools = this.pools;
    this.pools = [];
    await Promise.allSettled(pools.map((p) => p.end()));
  }
}

/** Forgets circuit-breaker state (tests that restore an endpoint use it). */
export function resetDbHealth(): void {
  unhealthyUntil.clear();
}

/**
 * Opens a short-lived connection to one endpoint and asks whether it is a replica (for /readyz); the pool is
 * ended before returning.
 */
export async function probeDatabase(config: AppConfig, url: string, timeoutMs: number): Promise<{ inRecovery: boolean; lagSeconds: number | null }> {
  configureNeon(config.neonLocalProxy);
  const pool = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: timeoutMs });
  pool.on("error", () => undefined);
  try {
    const res = await pool.query<{ in_recovery: boolean; lag: number | null }>(
      "select pg_is_in_recovery() as in_recovery, case when pg_is_in_recovery() then extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 end as lag",
    );
    const row = res.rows[0];
    return { inRecovery: row?.in_recovery ?? false, lagSeconds: row?.lag ?? null };
  } finally {
    await pool.end();
  }
}
