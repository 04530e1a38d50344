/**
 * Cutting off access tokens before they expire. Logout and refresh-token reuse revoke a session family; "log out
 * everywhere" raises the user's token epoch. Postgres (the primary) is the truth; Redis only speeds the check up.
 *
 * A missing Redis mark must never read as "not revoked" (a mark lost to a Redis blip or restart would otherwise
 * let a logged-out token work for its last minutes). So Redis holds two kinds of entries:
 *   - positive marks (`revoked:<sid>`, `epoch:<user>`), trusted whenever present;
 *   - a short-lived confirmation (`ok:<sid>:<ep>`, the time the primary said "live"), trusted only for
 *     AUTH_REVOCATION_CONFIRM_SECONDS. Without a fresh confirmation the check asks the primary.
 * A writer whose mark does not reach Redis keeps retrying (after the response) for longer than a confirmation
 * can live, so by the time it gives up every confirmation that predates the revocation has expired.
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { redisFor } from "../platform/cache";
import { ACCESS_TOKEN_TTL_SECONDS } from "./jwt";
import type { AccessClaims } from "./jwt";
import { accountSettings } from "./settings";

const RETRY_EVERY_MS = 250;

/** Keys before the cache namespace (the request's Cache adds it). */
const keys = {
  revoked: (sid: string) => `auth:revoked:${sid}`,
  epoch: (userId: string) => `auth:epoch:${userId}`,
  confirmed: (sid: string, ep: number) => `auth:ok:${sid}:${ep}`,
};

/**
 * Raises KEYS[1] to ARGV[1] (never lowers it) with a TTL of ARGV[2] seconds: two "log out everywhere" writes that
 * land out of order must not leave the older, lower epoch in Redis.
 */
const RAISE_MARK = `local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) >= cur then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1`;

/** One real attempt to store a key (not the fail-open cache: the caller must know whether it landed). */
async function trySet(c: Context<AppEnv>, key: string, value: string, ttlSeconds: number, mode: "raise" | "set" = "raise"): Promise<boolean> {
  try {
    const redis = redisFor(c.get("config"));
    const full = c.get("cache").key(key);
    if (mode === "raise") await redis.eval(RAISE_MARK, [full], [value, String(ttlSeconds)]);
    else await redis.set(full, value, { ex: ttlSeconds });
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a positive mark; when Redis does not take it, retries after the response until every confirmation that
 * could predate the revocation has expired (the primary answers the checks meanwhile).
 */
async function publishMark(c: Context<AppEnv>, key: string, value: string): Promise<void> {
  if (await trySet(c, key, value, ACCESS_TOKEN_TTL_SECONDS)) return;
  const deadline = Date.now() + (accountSettings(c.env).revocationConfirmSeconds + 1) * 1000;
  c.get("log").warn("revocation_mark_deferred", { key_kind: key.split(":")[1] ?? "" });
  c.executionCtx.waitUntil(
    (async () => {
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, RETRY_EVERY_MS));
        if (await trySet(c, key, value, ACCESS_TOKEN_TTL_SECONDS)) return;
      }
    })(),
  );
}

/** Marks a session family revoked for as long as its access tokens can live (call after the primary commit). */
export async function markFamilyRevoked(c: Context<AppEnv>, familyId: string): Promise<void> {
  await publishMark(c, keys.revoked(familyId), "1");
}

/** Records the user's new token epoch for as long as older access tokens can live (after the primary commit). */
export async function raiseUserEpoch(c: Context<AppEnv>, userId: string, epoch: number): Promise<void> {
  await publishMark(c, keys.epoch(userId), String(epoch));
}

/** True when the token's session was revoked or the user logged out everywhere after it was minted. */
export async function isRevoked(c: Context<AppEnv>, claims: AccessClaims): Promise<boolean> {
  const confirmMs = accountSettings(c.env).revocationConfirmSeconds * 1000;
  // The request's cache: one MGET, and no waiting on a Redis the isolate already knows is down.
  const fast = await c.get("cache").mget([keys.revoked(claims.sid), keys.epoch(claims.sub), keys.confirmed(claims.sid, claims.ep)]);
  const redisUp = fast !== null;
  if (fast) {
    const [revoked, epoch, confirmed] = fast;
    if (revoked !== null) return true;
    if (epoch !== null && Number(epoch) > claims.ep) return true;
    if (confirmed !== null && Number(confirmed) + confirmMs > Date.now()) return false;
  }
  // Taken before the read: a confirmation must not claim to be younger than the primary's answer.
  const readAt = Date.now();
  const { value } = await c.get("db").read(
    (db) =>
      db.rows<{ revoked: boolean; epoch: number | null; active: boolean | null }>(sql`
        select exists (select 1 from refresh_tokens where family_id = ${claims.sid} and revoked_at is not null) as revoked,
               (select token_epoch from users where id = ${claims.sub}) as epoch,
               (select status = 'active' from users where id = ${claims.sub}) as active`),
    { primary: true },
  );
  const row = value[0];
  const revoked = !row || row.revoked || row.active !== true || (row.epoch ?? 0) > claims.ep;
  if (redisUp) {
    // Repairs a lost mark, or lets the next checks of this live session skip the primary for a while.
    if (!revoked) c.executionCtx.waitUntil(trySet(c, keys.confirmed(claims.sid, claims.ep), String(readAt), Math.ceil(confirmMs / 1000), "set"));
    else if (row?.revoked) c.executionCtx.waitUntil(trySet(c, keys.revoked(claims.sid), "1", ACCESS_TOKEN_TTL_SECONDS));
  }
  return revoked;
}
