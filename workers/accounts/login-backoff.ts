/**
 * Exponential backoff after failed logins, per account: after 5 failures in a row each further failure doubles the
 * wait before the next attempt (1 s, 2 s, 4 s … capped at 60 s). A success clears it. Together with the sliding-window
 * limit this slows guessing without locking the real owner out for long.
 */
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { redisFor } from "../platform/cache";
import { AppError } from "../platform/errors";

const FREE_FAILURES = 5;
const MAX_DELAY_SECONDS = 60;
const MEMORY_SECONDS = 15 * 60;

const failKey = (c: Context<AppEnv>, email: string): string => `${c.get("config").cacheNamespace}:auth:fail:${email}`;
const untilKey = (c: Context<AppEnv>, email: string): string => `${c.get("config").cacheNamespace}:auth:fail_until:${email}`;

const unavailable = (): AppError =>
  new AppError(503, "RATE_LIMIT_UNAVAILABLE", "This action is temporarily unavailable; retry shortly", null, { "Retry-After": "5" });

/** Throws 429 LOGIN_BACKOFF while the account is in its backoff period (fails closed when Redis is down). */
export async function assertNotBackingOff(c: Context<AppEnv>, email: string): Promise<void> {
  let until: unknown;
  try {
    until = await redisFor(c.get("config")).get(untilKey(c, email));
  } catch {
    throw unavailable();
  }
  const ms = Number(until ?? 0) - Date.now();
  if (ms > 0) {
    const retry = Math.ceil(ms / 1000);
    throw new AppError(429, "LOGIN_BACKOFF", "Too many failed attempts; wait before trying again", { retry_after_seconds: retry }, { "Retry-After": String(retry) });
  }
}

/** Counts a failed login and sets the next backoff. */
export async function recordLoginFailure(c: Context<AppEnv>, email: string): Promise<void> {
  const redis = redisFor(c.get("config"));
  try {
    const p = redis.pipeline();
    p.incr(failKey(c, email));
    p.expire(failKey(c, email), MEMORY_SECONDS);
    const [failures] = await p.exec<[number, number]>();
    if (failures >= FREE_FAILURES) {
      const delay = Math.min(MAX_DELAY_SECONDS, 2 ** (failures - FREE_FAILURES));
      await redis.set(untilKey(c, email), String(Date.now() + delay * 1000), { ex: delay + 1 });
    }
  } catch (err) {
    c.get("log").warn("login_backoff_unrecorded", { error_message: err instanceof Error ? err.message : String(err) });
  }
}

/** Clears the failure count after a successful login. */
export async function clearLoginFailures(c: Context<AppEnv>, email: string): Promise<void> {
  try {
    await redisFor(c.get("config")).del(failKey(c, email), untilKey(c, email));
  } catch {
    // Stale counters expire on their own (15 minutes).
  }
}
