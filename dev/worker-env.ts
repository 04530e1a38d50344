/** The Worker's local variables and secrets for a database, shared by `npm run dev` (.dev.vars) and the tests. */
import type { StackConfig } from "./config";
import { LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET, pgUrl } from "./config";

export const LOCAL_ADMIN_TOKEN = "local-admin-token-change-me-0123456789abcdef";
export const LOCAL_COOKIE_SECRET = "local-cookie-secret-change-me-0123456789abcdef";
export const LOCAL_JWT_KEYS = "k1:bG9jYWwtand0LWtleS1vbmUtY2hhbmdlLW1lLTAxMjM0NTY3ODlhYmNkZWY";
export const LOCAL_PII_KEYS = "p1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/** Bindings for a Worker talking to `database` through the local PgBouncers, proxies and Redis. */
export function localWorkerVars(cfg: StackConfig, database: string, environment: "development" | "test"): Record<string, string> {
  return {
    ENVIRONMENT: environment,
    LOG_LEVEL: environment === "test" ? "warn" : "info",
    // NB_CACHE_NAMESPACE lets a second checkout test against its own databases without sharing Redis keys.
    CACHE_NAMESPACE: `${environment === "test" ? "test" : "dev"}${cfg.cacheNamespaceSuffix}`,
    NEON_LOCAL_PROXY: `127.0.0.1:${cfg.wsProxyPort}`,
    DATABASE_URL: pgUrl(cfg.bouncerPrimaryPort, database),
    DATABASE_REPLICA_URLS: pgUrl(cfg.bouncerReplicaPort, database),
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${cfg.upstashProxyPort}`,
    UPSTASH_REDIS_REST_TOKEN: cfg.upstashToken,
    ADMIN_API_TOKEN: LOCAL_ADMIN_TOKEN,
    COOKIE_SECRET: LOCAL_COOKIE_SECRET,
    JWT_KEYS: LOCAL_JWT_KEYS,
    PII_KEYS: LOCAL_PII_KEYS,
    CORS_ORIGINS: "http://localhost:3000,http://127.0.0.1:3000",
    // Production allows 100 requests a minute per user (wrangler.toml); locally that would trip benches and
    // hand testing. The limit itself is tested with an override.
    STRIPE_API_BASE: `http://127.0.0.1:${cfg.stripeFakePort}`,
    STRIPE_SECRET_KEY: LOCAL_STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: LOCAL_STRIPE_WEBHOOK_SECRET,
    // Tests retry failed queue messages at once, so "retried, then dead-lettered" takes seconds, not minutes.
    QUEUE_BACKOFF_BASE_SECONDS: environment === "test" ? "0" : "2",
    API_RATE_LIMIT_PER_MINUTE: environment === "test" ? "100" : "100000",
  };
}
