/**
 * Login throttling without lockout of the owner. Every failure is counted against a *subject*: the account (email)
 * for untrusted clients, or the device id for a client presenting a valid device cookie for that account
 * (device.ts). Per subject: after 5 failures in a row each further failure doubles the wait before the next
 * attempt (1 s, 2 s, 4 s … capped at 60 s); a success clears it. A device that fails AUTH_DEVICE_MAX_FAILURES times
 * within the login window loses its exemption and is treated as untrusted until the window passes.
 */
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { redisFor } from "../platform/cache";
import { AppError } from "../platform/errors";
import { enforceLimit } from "../platform/rate-limit";
import { accountSettings } from "./settings";

const FREE_FAILURES = 5;
const MAX_DELAY_SECONDS = 60;
const MEMORY_SECONDS = 15 * 60;

/** Who a login attempt is judged as: a known device of the account, or anyone else. */
export type LoginClient = { kind: "device"; deviceId: string } | { kind: "untrusted" };

const subjectOf = (email: string, client: LoginClient): string => (client.kind === "device" ? `device:${client.deviceId}` : email);

const failKey = (c: Context<AppEnv>, subject: string): string => `${c.get("config").cacheNamespace}:auth:fail:${subject}`;
const untilKey = (c: Context<AppEnv>, subject: string): string => `${c.get("config").cacheNamespace}:auth:fail_until:${subject}`;
const deviceFailKey = (c: Context<AppEnv>, deviceId: string): string => `${c.get("config").cacheNamespace}:auth:devfail:${deviceId}`;

const unavailable = (): AppError =>
  new AppError("RATE_LIMIT_UNAVAILABLE", "This action is temporarily unavailable; retry shortly", null, { "Retry-After": "5" });

async function assertNotBackingOff(c: Context<AppEnv>, subject: string): Promise<void> {
  let until: unknown;
  try {
    until = await redisFor(c.get("config")).get(untilKey(c, subject));
  } catch {
    throw unavailable();
  }
  const ms = Number(until ?? 0) - Date.now();
  if (ms > 0) {
    const retry = Math.ceil(ms / 1000);
    throw new AppError("LOGIN_BACKOFF", "Too many failed attempts; wait before trying again", { retry_after_seconds: retry }, { "Retry-After": String(retry) });
  }
}

/** True when the device has used up its failures in the current window (fails closed when Redis is down). */
async function deviceLocked(c: Context<AppEnv>, deviceId: string): Promise<boolean> {
  try {
    const n = await redisFor(c.get("config")).get(deviceFailKey(c, deviceId));
    return Number(n ?? 0) >= accountSettings(c.env).deviceMaxFailures;
  } catch {
    throw unavailable();
  }
}

/**
 * Admits or refuses a password attempt for `email` and says how it is judged: a device with failures left keeps
 * its exemption from the per-account limit; everyone else meets the per-account window limit and backoff.
 */
export async function admitLogin(c: Context<AppEnv>, email: string, deviceId: string | null, limitName = "login-account"): Promise<LoginClient> {
  const limits = c.get("config").authLimits;
  if (deviceId && !(await deviceLocked(c, deviceId))) {
    const client: LoginClient = { kind: "device", deviceId };
    await assertNotBackingOff(c, subjectOf(email, client));
    return client;
  }
  await enforceLimit(c, limitName, email, limits.loginPerAccount, limits.loginWindowSeconds);
  await assertNotBackingOff(c, email);
  return { kind: "untrusted" };
}

/** Counts a failed attempt against the client's subject and sets the next backoff. */
export async function recordLoginFailure(c: Context<AppEnv>, email: string, client: LoginClient): Promise<void> {
  const redis = redisFor(c.get("config"));
  const subject = subjectOf(email, client);
  try {
    const p = redis.pipeline();
    p.incr(failKey(c, subject));
    p.expire(failKey(c, subject), MEMORY_SECONDS);
    if (client.kind === "device") {
      p.incr(deviceFailKey(c, client.deviceId));
      p.expire(deviceFailKey(c, client.deviceId), c.get("config").authLimits.loginWindowSeconds, "NX");
    }
    const [failures] = await p.exec<[number, ...unknown[]]>();
    if (failures >= FREE_FAILURES) {
      const delay = Math.min(MAX_DELAY_SECONDS, 2 ** (failures - FREE_FAILURES));
      await redis.set(untilKey(c, subject), String(Date.now() + delay * 1000), { ex: delay + 1 });
    }
  } catch (err) {
    c.get("log").warn("login_backoff_unrecorded", { error_message: err instanceof Error ? err.message : String(err) });
  }
}

/** Clears the client's failure count after a successful login (a device's window count stays: it only expires). */
export async function clearLoginFailures(c: Context<AppEnv>, email: string, client: LoginClient): Promise<void> {
  const subject = subjectOf(email, client);
  try {
    await redisFor(c.get("config")).del(failKey(c, subject), untilKey(c, subject));
  } catch {
    // Stale counters expire on their own (15 minutes).
  }
}
