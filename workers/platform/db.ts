/**
 * Postgres access for one request: a Neon `Pool` for the primary and one for a replica, created on first use and
 * ended when the request is done (Neon's rule for Workers). Reads go to a replica and fall back to the primary
 * when the replica cannot be reached; writes and read-your-writes go to the primary.
 */
import { Pool, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import type { NeonDatabase } from "drizzle-orm/neon-serverless";
import type { AppConfig } from "./config";
import type { Logger } from "./logger";
import { errorFields } from "./logger";
import { AppError } from "./errors";

export type Database = NeonDatabase<Record<string, never>>;
export type DbSource = "primary" | "replica";

let localProxyConfigured: string | null = null;

/** Points the Neon driver at the local WebSocket proxy; production leaves the driver as it is. */
function configureNeon(localProxy: string | null): void {
  if (!localProxy || localProxyConfigured === localProxy) return;
  neonConfig.wsProxy = (host, port) => `${localProxy}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  localProxyConfigured = localProxy;
}

/**
 * Endpoints that failed to connect recently, shared by the requests of one isolate: while open, reads skip the
 * endpoint instead of paying a connect timeout on every request.
 */
const unhealthyUntil = new Map<string, number>();
const CIRCUIT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 3_000;

function isHealthy(url: string): boolean {
  const until = unhealthyUntil.get(url);
  return until === undefined || until <= Date.now();
}

/**
 * True for failures of the connection rather than of the statement: SQLSTATE classes 08 (connection), 57P
 * (shutdown, cannot connect now), 53300 (too many connections).
 * Also 40001 from a replica (a query cancelled by a conflict with recovery), which is worth a retry elsewhere.
 * Driver errors without a SQLSTATE count only when they speak of the connection (a bug must not look like an outage).
 */
export function isConnectionError(err: unknown): boolean {
  // drizzle wraps driver errors (DrizzleQueryError) and keeps the driver's error as `cause`.
  let e: unknown = err;
  while (e instanceof Error && typeof (e as { code?: unknown }).code !== "string" && e.cause !== undefined && e.cause !== null) {
    e = e.cause;
  }
  // The driver rejects with the WebSocket's ErrorEvent (not an Error) when the socket cannot open.
  if (!(e instanceof Error)) return true;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    return code.startsWith("08") || code.startsWith("57P") || code === "53300" || code === "40001";
  }
  const text = `${e.name} ${e.message}`;
  return /connect|connection|websocket|socket|terminated|timeout|timed out|ECONN|closed|network/i.test(text);
}

/** A request's handle on the primary and the replicas. */
export class DbRouter {
  private pools: Pool[] = [];
  private primaryDb: Database | null = null;
  private replicaDb: { db: Database; url: string } | null = null;
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

  /** The primary, for writes and reads that must see the latest committed state. */
  get primary(): Database {
    this.primaryDb ??= this.open(this.config.databaseUrl);
    return this.primaryDb;
  }

  private replica(): { db: Database; url: string } | null {
    if (this.replicaDb) return this.replicaDb;
    const healthy = this.config.replicaUrls.filter(isHealthy);
    if (healthy.length === 0) return null;
    const url = healthy[Math.floor(Math.random() * healthy.length)] as string;
    this.replicaDb = { db: this.open(url), url };
    return this.replicaDb;
  }

  /**
   * Runs a read on a replica (or the primary when `primary` is set, or no replica is healthy). A connection
   * failure on one side is retried once on the other, so a replica outage degrades to primary reads and a primary
   * outage still serves reads from the replica.
   */
  async read<T>(fn: (db: Database) => Promise<T>, opts: { primary?: boolean } = {}): Promise<{ value: T; source: DbSource }> {
    const replica = this.replica();
    const order: DbSource[] =
      opts.primary || !replica ? ["primary", ...(replica ? (["replica"] as const) : [])] : ["replica", "primary"];
    for (const source of order) {
      const url = source === "primary" ? this.config.databaseUrl : (replica as { url: string }).url;
      if (!isHealthy(url) && order.length > 1 && source === order[0]) continue;
      try {
        const db = source === "primary" ? this.primary : (replica as { db: Database }).db;
        return { value: await fn(db), source };
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        unhealthyUntil.set(url, Date.now() + CIRCUIT_MS);
        this.log.warn("db_unreachable", { source, ...errorFields(err) });
      }
    }
    throw new AppError(503, "DATABASE_UNAVAILABLE", "The database is unreachable; retry shortly", null, {
      "Retry-After": "5",
    });
  }

  /** Runs a write on the primary; marks the request as a writer for read-your-writes. */
  async write<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    try {
      const value = await fn(this.primary);
      this.wrote = true;
      return value;
    } catch (err) {
      if (err instanceof AppError || !isConnectionError(err)) throw err;
      this.log.error("db_primary_unreachable", errorFields(err));
      throw new AppError(503, "DATABASE_UNAVAILABLE", "The database is unreachable; retry shortly", null, {
        "Retry-After": "5",
      });
    }
  }

  /** Ends every pool this request opened. */
  async end(): Promise<void> {
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
