/**
 * Ports, paths and names of the local stack. One place, so the launcher, the tests and the benchmarks agree.
 * Every value can be overridden with an environment variable (NB_*), e.g. NB_WORKER_PORT=8788.
 */
import { fileURLToPath } from "node:url";
import path from "node:path";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new Error(`${name} must be a TCP port, got ${raw}`);
  return n;
}

function str(name: string, fallback: string): string {
  const raw = process.env[name];
  return raw === undefined || raw === "" ? fallback : raw;
}

export interface StackConfig {
  /** The Debian cluster version used for the primary (pg_ctlcluster <version> main). */
  pgVersion: string;
  pgPrimaryPort: number;
  pgReplicaPort: number;
  /** Data directory of the streaming replica; owned by the postgres OS user. */
  pgReplicaDir: string;
  bouncerPrimaryPort: number;
  bouncerReplicaPort: number;
  /** Directory for PgBouncer configs, pid files and logs; owned by the postgres OS user. */
  bouncerDir: string;
  wsProxyPort: number;
  redisPort: number;
  upstashProxyPort: number;
  upstashToken: string;
  workerPort: number;
  /** The local Stripe API fake (dev/stripe-fake.ts); the Worker's Stripe client points here. */
  stripeFakePort: number;
  devDatabase: string;
  testDatabase: string;
  /** Where the launcher keeps logs of its own child processes. */
  runDir: string;
  /** Appended to the Worker's CACHE_NAMESPACE (e.g. "-search"), so checkouts on other databases share no keys. */
  cacheNamespaceSuffix: string;
}

/** The only secret key the local Stripe fake accepts; test mode shaped, so nothing mistakes it for a live key. */
export const LOCAL_STRIPE_SECRET_KEY = "sk_test_nexusbooks_local";
/** The signing secret of the local Stripe fake's webhook deliveries. */
export const LOCAL_STRIPE_WEBHOOK_SECRET = "whsec_nexusbooks_local_0123456789abcdef";

/** Reads the stack configuration from NB_* variables with local defaults. */
export function loadStackConfig(): StackConfig {
  return {
    pgVersion: str("NB_PG_VERSION", "15"),
    pgPrimaryPort: num("NB_PG_PORT", 5432),
    pgReplicaPort: num("NB_PG_REPLICA_PORT", 5433),
    pgReplicaDir: str("NB_PG_REPLICA_DIR", "/var/lib/postgresql/nexusbooks/replica"),
    bouncerPrimaryPort: num("NB_BOUNCER_PORT", 6432),
    bouncerReplicaPort: num("NB_BOUNCER_REPLICA_PORT", 6433),
    bouncerDir: str("NB_BOUNCER_DIR", "/var/lib/postgresql/nexusbooks/pgbouncer"),
    wsProxyPort: num("NB_WS_PROXY_PORT", 5480),
    redisPort: num("NB_REDIS_PORT", 6379),
    upstashProxyPort: num("NB_UPSTASH_PORT", 8079),
    upstashToken: str("NB_UPSTASH_TOKEN", "nexusbooks-local-token"),
    workerPort: num("NB_WORKER_PORT", 8787),
    stripeFakePort: num("NB_STRIPE_PORT", 12111),
    devDatabase: str("NB_DEV_DATABASE", "nexusbooks"),
    testDatabase: str("NB_TEST_DATABASE", "nexusbooks_test"),
    runDir: str("NB_RUN_DIR", path.join(projectRoot, ".stack")),
    cacheNamespaceSuffix: str("NB_CACHE_NAMESPACE_SUFFIX", ""),
  };
}

/** Connection URL for a database through a given port (PgBouncer or Postgres). */
export function pgUrl(port: number, database: string): string {
  return `postgres://postgres@127.0.0.1:${port}/${database}`;
}
