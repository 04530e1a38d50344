/**
 * Cutting off access tokens before they expire. Logout and refresh-token reuse revoke a session family; "log out
 * everywhere" raises the user's token epoch. Both are written to Postgres (the truth) and mirrored to Redis for
 * the per-request check; when Redis cannot answer, the check reads the primary instead of letting tokens through.
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { ACCESS_TOKEN_TTL_SECONDS } from "./jwt";
import type { AccessClaims } from "./jwt";

const revokedKey = (sid: string): string => `auth:revoked:${sid}`;
const epochKey = (userId: string): string => `auth:epoch:${userId}`;

/** Marks a session family revoked for as long as its access tokens can live. */
export async function markFamilyRevoked(c: Context<AppEnv>, familyId: string): Promise<void> {
  await c.get("cache").set(revokedKey(familyId), "1", ACCESS_TOKEN_TTL_SECONDS);
}

/** Records the user's new token epoch for as long as older access tokens can live. */
export async function raiseUserEpoch(c: Context<AppEnv>, userId: string, epoch: number): Promise<void> {
  await c.get("cache").set(epochKey(userId), String(epoch), ACCESS_TOKEN_TTL_SECONDS);
}

/** True when the token's session was revoked or the user logged out everywhere after it was minted. */
export async function isRevoked(c: Context<AppEnv>, claims: AccessClaims): Promise<boolean> {
  const fast = await c.get("cache").mget([revokedKey(claims.sid), epochKey(claims.sub)]);
  if (fast) {
    const [revoked, epoch] = fast;
    return revoked !== null || (epoch !== null && Number(epoch) > claims.ep);
  }
  const { value } = await c.get("db").read(
    (db) =>
      db.rows<{ revoked: boolean; epoch: number | null; active: boolean | null }>(sql`
        select exists (select 1 from refresh_tokens where family_id = ${claims.sid} and revoked_at is not null) as revoked,
               (select token_epoch from users where id = ${claims.sub}) as epoch,
               (select status = 'active' from users where id = ${claims.sub}) as active`),
    { primary: true },
  );
  const row = value[0];
  return !row || row.revoked || row.active !== true || (row.epoch ?? 0) > claims.ep;
}
