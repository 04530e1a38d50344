/**
 * Rate limits on Upstash Redis (@upstash/ratelimit, sliding windows). Sensitive routes (login, signup, checkout)
 * fail CLOSED: if Redis cannot be asked, the request is refused with 503 rather than let through unlimited.
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Duration } from "@upstash/ratelimit";
import type { Context } from "hono";
import type { AppEnv } from "./context";
import { Redis } from "@upstash/redis/cloudflare";
import { AppError } from "./errors";
import { BoundedMap } from "./bounded-map";

const limiters = new BoundedMap<string, Ratelimit>(64, 3_600_000);
const redisClients = new BoundedMap<string, Redis>(16, 3_600_000);

/**
 * The limiter's own Redis client: unlike the cache (400 ms, then carry on without it), a limit that fails closed must
 * not turn a briefly busy Redis into refusals, so it waits up to 2 s before calling Redis unavailable.
 */
function limiterRedis(config: AppEnv["Variables"]["config"]): Redis {
  const key = `${config.redisUrl}|${config.redisToken}`;
  let client = redisClients.get(key);
  if (!client) {
    client = new Redis({ url: config.redisUrl, token: config.redisToken, retry: false, signal: () => AbortSignal.timeout(2_000), enableTelemetry: false, enableAutoPipelining: false });
    redisClients.set(key, client);
  }
  return client;
}

function limiter(c: Context<AppEnv>, name: string, max: number, window: Duration): Ratelimit {
  const config = c.get("config");
  const key = `${config.redisUrl}|${config.cacheNamespace}|${name}|${max}|${window}`;
  let rl = limiters.get(key);
  if (!rl) {
    rl = new Ratelimit({
      redis: limiterRedis(config),
      limiter: Ratelimit.slidingWindow(max, window),
      prefix: `${config.cacheNamespace}:rl:${name}`,
      // No in-memory shortcut: every decision is Redis's, so all isolates agree.
      ephemeralCache: false,
      analytics: false,
    });
    limiters.set(key, rl);
  }
  return rl;
}

/**
 * Consumes one unit of `name` for `identifier`; throws 429 RATE_LIMITED with Retry-After when over the limit,
 * and 503 RATE_LIMIT_UNAVAILABLE when Redis cannot answer (fail closed).
 */
export async function enforceLimit(
  c: Context<AppEnv>,
  name: string,
  identifier: string,
  max: number,
  windowSeconds: number,
  onUnavailable: "closed" | "open" = "closed",
): Promise<void> {
  let result: { success: boolean; reset: number };
  try {
    result = await limiter(c, name, max, `${windowSeconds} s`).limit(identifier);
  } catch (err) {
    c.get("log").error("rate_limit_unavailable", { name, fail: onUnavailable, error_message: err instanceof Error ? err.message : String(err) });
    if (onUnavailable === "open") return;
    throw new AppError("RATE_LIMIT_UNAVAILABLE", "This action is temporarily unavailable; retry shortly", null, { "Retry-After": "5" });
  }
  if (!result.success) {
    const retryAfter = Math.max(1, Math.ceil((result.reset - Date.now()) / 1000));
    throw new AppError("RATE_LIMITED", "Too many attempts; slow down", { retry_after_seconds: retryAfter }, { "Retry-After": String(retryAfter) });
  }
}

/**
 * Consumes one unit of a Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml) for `key`: counted in the
 * Cloudflare location with no network round trip, so a burst of honest buyers never waits on Redis. 429 RATE_LIMITED
 * when over; when the binding itself throws, 503 RATE_LIMIT_UNAVAILABLE (fail closed) or, with "open", let through.
 */
export async function enforceBindingLimit(
  limiter: RateLimit,
  log: AppEnv["Variables"]["log"],
  name: string,
  key: string,
  periodSeconds: 10 | 60,
  onUnavailable: "closed" | "open" = "closed",
): Promise<void> {
  let success: boolean;
  try {
    ({ success } = await limiter.limit({ key: `${name}:${key}` }));
  } catch (err) {
    log.error("rate_limit_unavailable", { name, fail: onUnavailable, error_message: err instanceof Error ? err.message : String(err) });
    if (onUnavailable === "open") return;
    throw new AppError("RATE_LIMIT_UNAVAILABLE", "This action is temporarily unavailable; retry shortly", null, { "Retry-After": "5" });
  }
  if (!success) {
    // The binding reports no reset time: the window's length is the honest upper bound.
    throw new AppError("RATE_LIMITED", "Too many attempts; slow down", { retry_after_seconds: periodSeconds }, { "Retry-After": String(periodSeconds) });
  }
}
