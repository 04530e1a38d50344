/**
 * Sign-up, login, refresh rotation with reuse detection, logout and "log out everywhere". Every auth event is
 * audited; passwords are checked against the policy and hashed with platform-safe PBKDF2 (password.ts).
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { hashIp, writeAudit } from "../platform/audit";
import type { Database } from "../platform/db";
import { enforceLimit } from "../platform/rate-limit";
import { checkPasswordPolicy, dummyVerify, hashPassword, verifyPassword } from "./password";
import { ACCESS_TOKEN_TTL_SECONDS, MFA_TOKEN_TTL_SECONDS, signAccessToken, signMfaToken } from "./jwt";
import type { Role } from "./tables";
import { REFRESH_TTL_SECONDS, clearSessionCookies, hashToken, newOpaqueToken, refreshTokenFromRequest, setSessionCookies } from "./session";
import { markFamilyRevoked, raiseUserEpoch } from "./revocation";
import { queueAccountEmail } from "./email-flows";
import { dispatchAfterCommit } from "../platform/outbox-dispatch";
import { assertNotBackingOff, clearLoginFailures, recordLoginFailure } from "./login-backoff";

export interface UserRow extends Record<string, unknown> {
  id: string;
  mfa_enabled: boolean;
  email: string;
  role: Role;
  name: string | null;
  password_hash: string;
  status: string;
  token_epoch: number;
}

/** The answer to a correct password when the account has a second factor: no session yet. */
/** The columns of UserRow, in one place for every query that loads a user to start a session. */
export const USER_COLUMNS = sql.raw("id, email, role, name, password_hash, status, token_epoch, mfa_enabled");

export interface MfaChallengeBody {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
}

export interface SessionBody {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  user: { id: string; email: string; name: string | null; role: Role };
}

/** Lowercased and trimmed: the key that makes emails unique regardless of case. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** Request id and IP hash for audit rows. */
export async function auditCtx(c: Context<AppEnv>) {
  return {
    requestId: c.get("requestId"),
    ipHash: await hashIp(c.req.header("cf-connecting-ip") ?? null, c.get("config").cookieSecret),
  };
}

/** Creates a refresh token in `familyId` (a new family when null) and answers with an access token. */
export async function startSession(c: Context<AppEnv>, tx: Pick<Database, "execute">, user: UserRow, familyId: string | null): Promise<SessionBody> {
  const refresh = newOpaqueToken();
  const family = familyId ?? crypto.randomUUID();
  const { ipHash } = await auditCtx(c);
  await tx.execute(sql`insert into refresh_tokens (user_id, family_id, token_hash, expires_at, ip_hash, user_agent)
    values (${user.id}, ${family}, ${await hashToken(refresh)}, now() + make_interval(secs => ${REFRESH_TTL_SECONDS}), ${ipHash},
            ${(c.req.header("user-agent") ?? "").slice(0, 200)})`);
  setSessionCookies(c, refresh, newOpaqueToken());
  const access = await signAccessToken(c.get("config").jwtKeys, { sub: user.id, role: user.role, sid: family, ep: user.token_epoch });
  c.set("userId", user.id);
  return {
    access_token: access,
    token_type: "Bearer",
    expires_in: ACCESS_TOKEN_TTL_SECONDS,
    user: { id: user.id, email: user.email, name: user.name, role: user.role },
  };
}

/** Registers a customer. The role is never taken from input. */
export async function signup(c: Context<AppEnv>, input: { email: string; password: string; name?: string | undefined }): Promise<SessionBody> {
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  await enforceLimit(c, "signup-ip", ip, c.get("config").authLimits.signupPerIp, 3600);
  const email = normaliseEmail(input.email);
  const policy = checkPasswordPolicy(input.password, { email, ...(input.name ? { name: input.name } : {}) });
  if (!policy.ok) throw new AppError(400, policy.code, policy.message, { suggestions: policy.suggestions });
  const hash = await hashPassword(input.password);
  const audit = await auditCtx(c);
  return c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const inserted = await tx.execute<UserRow>(sql`
        insert into users (email, email_normalized, password_hash, name) values (${input.email.trim()}, ${email}, ${hash}, ${input.name ?? null})
        on conflict (email_normalized) do nothing
        returning ${USER_COLUMNS}`);
      const user = inserted.rows[0];
      if (!user) throw new AppError(409, "EMAIL_TAKEN", "An account with this email already exists");
      await writeAudit(tx, { actorId: user.id, actorRole: user.role, action: "auth.signup", targetType: "user", targetId: user.id, ...audit });
      const jobs = await queueAccountEmail(c, tx, "email.verify_email", user.id);
      return { session: await startSession(c, tx, user, null), jobs };
    }),
  ).then(({ session, jobs }) => {
    dispatchAfterCommit(c, jobs);
    return session;
  });
}

const invalidCredentials = (): AppError => new AppError(401, "INVALID_CREDENTIALS", "Email or password is incorrect");

/**
 * Password login. Unknown emails cost the same time as wrong passwords; both answer the same 401. Accounts with
 * MFA get a short-lived MFA token instead of a session (see mfa.ts).
 */
export async function login(c: Context<AppEnv>, input: { email: string; password: string }): Promise<SessionBody | MfaChallengeBody> {
  const limits = c.get("config").authLimits;
  const email = normaliseEmail(input.email);
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  await enforceLimit(c, "login-ip", ip, limits.loginPerIp, 60);
  await enforceLimit(c, "login-account", email, limits.loginPerAccount, limits.loginWindowSeconds);
  await assertNotBackingOff(c, email);
  const audit = await auditCtx(c);
  return c.get("db").write(async (db) => {
    const found = await db.execute<UserRow>(sql`select ${USER_COLUMNS} from users where email_normalized = ${email}`);
    const user = found.rows[0];
    if (!user) {
      await dummyVerify(input.password);
      await recordLoginFailure(c, email);
      await writeAudit(db, { actorId: null, actorRole: null, action: "auth.login_failed", targetType: "user", targetId: null, after: { reason: "unknown_email" }, ...audit });
      throw invalidCredentials();
    }
    const check = await verifyPassword(input.password, user.password_hash);
    if (!check.ok) await recordLoginFailure(c, email);
    else await clearLoginFailures(c, email);
    if (!check.ok || user.status !== "active") {
      await writeAudit(db, { actorId: user.id, actorRole: user.role, action: "auth.login_failed", targetType: "user", targetId: user.id, after: { reason: check.ok ? "disabled" : "bad_password" }, ...audit });
      throw invalidCredentials();
    }
    return db.transaction(async (tx) => {
      if (check.needsRehash) {
        await tx.execute(sql`update users set password_hash = ${await hashPassword(input.password)}, updated_at = now() where id = ${user.id}`);
        await writeAudit(tx, { actorId: user.id, actorRole: user.role, action: "auth.password_rehashed", targetType: "user", targetId: user.id, ...audit });
      }
      if (user.mfa_enabled) {
        await writeAudit(tx, { actorId: user.id, actorRole: user.role, action: "auth.login_password_ok_mfa_pending", targetType: "user", targetId: user.id, ...audit });
        return { mfa_required: true as const, mfa_token: await signMfaToken(c.get("config").jwtKeys, user.id), expires_in: MFA_TOKEN_TTL_SECONDS };
      }
      await writeAudit(tx, { actorId: user.id, actorRole: user.role, action: "auth.login", targetType: "user", targetId: user.id, ...audit });
      return startSession(c, tx, user, null);
    });
  });
}

interface TokenRow extends Record<string, unknown> {
  id: string;
  user_id: string;
  family_id: string;
  expired: boolean;
  rotated_at: string | null;
  revoked_at: string | null;
}

/**
 * Exchanges the refresh cookie for a new one and a new access token. A token that was already rotated or revoked
 * is a replay of a stolen token: the whole family is revoked and 401 REFRESH_TOKEN_REUSED returned.
 */
export async function refresh(c: Context<AppEnv>): Promise<SessionBody> {
  const token = await refreshTokenFromRequest(c);
  const tokenHash = await hashToken(token);
  const audit = await auditCtx(c);
  const outcome = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const found = await tx.execute<TokenRow>(sql`
        select id, user_id, family_id, expires_at <= now() as expired, rotated_at, revoked_at
        from refresh_tokens where token_hash = ${tokenHash} for update`);
      const row = found.rows[0];
      if (!row) return { kind: "unknown" as const };
      if (row.rotated_at !== null || row.revoked_at !== null) {
        await tx.execute(sql`update refresh_tokens set revoked_at = coalesce(revoked_at, now()), revoke_reason = coalesce(revoke_reason, 'reuse')
                             where family_id = ${row.family_id}`);
        await writeAudit(tx, { actorId: row.user_id, actorRole: null, action: "auth.refresh_reuse", targetType: "session", targetId: row.family_id, ...audit });
        return { kind: "reused" as const, family: row.family_id };
      }
      if (row.expired) return { kind: "expired" as const };
      const users = await tx.execute<UserRow>(sql`select ${USER_COLUMNS} from users where id = ${row.user_id}`);
      const user = users.rows[0];
      if (!user || user.status !== "active") return { kind: "unknown" as const };
      await tx.execute(sql`update refresh_tokens set rotated_at = now() where id = ${row.id}`);
      return { kind: "ok" as const, body: await startSession(c, tx, user, row.family_id) };
    }),
  );
  if (outcome.kind === "ok") return outcome.body;
  clearSessionCookies(c);
  if (outcome.kind === "reused") {
    await markFamilyRevoked(c, outcome.family);
    throw new AppError(401, "REFRESH_TOKEN_REUSED", "This session was ended because its refresh token was used twice; sign in again");
  }
  throw new AppError(401, outcome.kind === "expired" ? "SESSION_EXPIRED" : "NO_SESSION", "Sign in again");
}

/** Ends the session of the refresh cookie (its whole family). */
export async function logout(c: Context<AppEnv>): Promise<void> {
  const token = await refreshTokenFromRequest(c);
  const tokenHash = await hashToken(token);
  const audit = await auditCtx(c);
  const family = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const res = await tx.execute<{ family_id: string; user_id: string }>(sql`
        update refresh_tokens set revoked_at = now(), revoke_reason = 'logout'
        where family_id = (select family_id from refresh_tokens where token_hash = ${tokenHash}) and revoked_at is null
        returning family_id, user_id`);
      const row = res.rows[0];
      if (row) await writeAudit(tx, { actorId: row.user_id, actorRole: null, action: "auth.logout", targetType: "session", targetId: row.family_id, ...audit });
      return row?.family_id ?? null;
    }),
  );
  clearSessionCookies(c);
  if (family) await markFamilyRevoked(c, family);
}

/** Ends every session of the user: revokes all refresh families and raises the token epoch. */
export async function logoutEverywhere(c: Context<AppEnv>, userId: string): Promise<void> {
  const audit = await auditCtx(c);
  const epoch = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      await tx.execute(sql`update refresh_tokens set revoked_at = now(), revoke_reason = 'logout_all' where user_id = ${userId} and revoked_at is null`);
      const res = await tx.execute<{ token_epoch: number }>(sql`update users set token_epoch = token_epoch + 1, updated_at = now() where id = ${userId} returning token_epoch`);
      await writeAudit(tx, { actorId: userId, actorRole: null, action: "auth.logout_all", targetType: "user", targetId: userId, ...audit });
      return res.rows[0]?.token_epoch ?? 0;
    }),
  );
  clearSessionCookies(c);
  await raiseUserEpoch(c, userId, epoch);
}
