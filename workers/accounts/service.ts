/**
 * Sign-up, login, refresh rotation with reuse detection (and a short grace for concurrent tabs), logout and "log out
 * everywhere". Every auth event is audited; passwords are checked against the policy and hashed with platform-safe
 * PBKDF2 (password.ts). Sign-up answers the same whether or not the address already has an account.
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { writeAudit } from "../platform/audit";
import { clientIp } from "../platform/client-ip";
import type { Database } from "../platform/db";
import { enforceLimit } from "../platform/rate-limit";
import { checkPasswordPolicy, dummyVerify, hashPassword, verifyPassword } from "./password";
import { ACCESS_TOKEN_TTL_SECONDS, MFA_TOKEN_TTL_SECONDS, signAccessToken, signMfaToken } from "./jwt";
import type { Role } from "./tables";
import { REFRESH_TTL_SECONDS, assertCsrfBound, clearSessionCookies, csrfTokenFor, hashToken, newOpaqueToken, refreshTokenFromRequest, setSessionCookies } from "./session";
import { markFamilyRevoked, raiseUserEpoch } from "./revocation";
import { queueAccountEmail } from "./email-queue";
import { auditCtx, normaliseEmail } from "./request-audit";
import { dispatchAfterCommit } from "../platform/outbox-dispatch";
import { admitLogin, clearLoginFailures, recordLoginFailure } from "./login-backoff";
import { issueDeviceCookie, trustedDeviceFor } from "./device";
import { accountSettings } from "./settings";
import { decryptPii, encryptPii } from "../platform/pii";
import { piiRing } from "../platform/pii-keys";

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

/** The columns of UserRow, in one place for every query that loads a user to start a session. */
export const USER_COLUMNS = sql.raw("id, email, role, name, password_hash, status, token_epoch, mfa_enabled");

/** The answer to a correct password when the account has a second factor: no session yet. */
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


const successorContext = (predecessorId: string): string => `refresh:${predecessorId}`;

async function accessBody(c: Context<AppEnv>, user: UserRow, family: string): Promise<SessionBody> {
  const access = await signAccessToken(c.get("config").jwtKeys, { sub: user.id, role: user.role, sid: family, ep: user.token_epoch });
  c.set("userId", user.id);
  return {
    access_token: access,
    token_type: "Bearer",
    expires_in: ACCESS_TOKEN_TTL_SECONDS,
    user: { id: user.id, email: user.email, name: user.name, role: user.role },
  };
}

/** Creates a refresh token in `family` and sets the session cookies; returns the new token and its row id. */
async function issueRefresh(c: Context<AppEnv>, tx: Pick<Database, "execute">, user: UserRow, family: string): Promise<{ id: string; token: string }> {
  const refresh = newOpaqueToken();
  const { ipHash } = await auditCtx(c);
  const res = await tx.execute<{ id: string }>(sql`insert into refresh_tokens (user_id, family_id, token_hash, expires_at, ip_hash, user_agent)
    values (${user.id}, ${family}, ${await hashToken(refresh)}, now() + make_interval(secs => ${REFRESH_TTL_SECONDS}), ${ipHash},
            ${(c.req.header("user-agent") ?? "").slice(0, 200)})
    returning id`);
  setSessionCookies(c, refresh, await csrfTokenFor(c, family));
  return { id: (res.rows[0] as { id: string }).id, token: refresh };
}

/** Creates a refresh token in `familyId` (a new family when null) and answers with an access token. */
export async function startSession(c: Context<AppEnv>, tx: Pick<Database, "execute">, user: UserRow, familyId: string | null): Promise<SessionBody> {
  const family = familyId ?? crypto.randomUUID();
  await issueRefresh(c, tx, user, family);
  return accessBody(c, user, family);
}

/** The one answer of sign-up, whether the address was free or already registered. */
export interface SignupAccepted {
  status: "check_your_email";
  message: string;
}

/**
 * Registers a customer (the role is never taken from input). The answer, its status and its work are the same
 * whether or not the address already has an account, so sign-up cannot tell anyone which addresses are
 * registered: both branches hash the password, run the same insert, write an audit row and one outbox row. A new
 * account gets the verification mail; an existing one gets "someone tried to sign up with your address". No
 * session is started: the new owner signs in with the password just chosen.
 */
export async function signup(c: Context<AppEnv>, input: { email: string; password: string; name?: string | undefined }): Promise<SignupAccepted> {
  const ip = clientIp(c);
  await enforceLimit(c, "signup-ip", ip, c.get("config").authLimits.signupPerIp, 3600);
  const email = normaliseEmail(input.email);
  const policy = checkPasswordPolicy(input.password, { email, ...(input.name ? { name: input.name } : {}) });
  if (!policy.ok) throw new AppError(policy.code, policy.message, { suggestions: policy.suggestions });
  const hash = await hashPassword(input.password);
  const audit = await auditCtx(c);
  const jobs = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      // One statement for both branches: the insert, or (on conflict) the existing account's id.
      const res = await tx.execute<{ id: string; role: Role; created: boolean }>(sql`
        with ins as (
          insert into users (email, email_normalized, password_hash, name) values (${input.email.trim()}, ${email}, ${hash}, ${input.name ?? null})
          on conflict (email_normalized) do nothing
          returning id, role)
        select id, role, true as created from ins
        union all
        select id, role, false as created from users where email_normalized = ${email} and not exists (select 1 from ins)`);
      // A concurrent sign-up for the same address committed after this statement's snapshot: read it again (a new
      // statement sees it), so a race answers like any taken address.
      const user =
        res.rows[0] ??
        (await tx.execute<{ id: string; role: Role; created: boolean }>(sql`select id, role, false as created from users where email_normalized = ${email}`)).rows[0];
      if (!user) throw new AppError("SIGNUP_RETRY", "Please try again");
      await writeAudit(tx, {
        actorId: user.created ? user.id : null,
        actorRole: user.created ? user.role : null,
        action: user.created ? "auth.signup" : "auth.signup_existing_email",
        targetType: "user",
        targetId: user.id,
        ...audit,
      });
      return queueAccountEmail(c.get("traceId"), tx, user.created ? "email.verify_email" : "email.signup_attempt", user.id);
    }),
  );
  dispatchAfterCommit(c, jobs);
  return { status: "check_your_email", message: "Check your inbox to finish signing up, then sign in." };
}

const invalidCredentials = (): AppError => new AppError("INVALID_CREDENTIALS", "Email or password is incorrect");

/**
 * Password login. Unknown emails cost the same time as wrong passwords; both answer the same 401. Accounts with
 * MFA get a short-lived MFA token instead of a session (see mfa.ts). A valid device cookie for the account
 * exempts the client from the per-account limit and backoff (it has its own, login-backoff.ts); a successful
 * login issues or renews it.
 */
export async function login(c: Context<AppEnv>, input: { email: string; password: string }): Promise<SessionBody | MfaChallengeBody> {
  const limits = c.get("config").authLimits;
  const email = normaliseEmail(input.email);
  const ip = clientIp(c);
  await enforceLimit(c, "login-ip", ip, limits.loginPerIp, 60);
  const audit = await auditCtx(c);
  return c.get("db").write(async (db) => {
    const found = await db.execute<UserRow>(sql`select ${USER_COLUMNS} from users where email_normalized = ${email}`);
    const user = found.rows[0];
    const deviceId = await trustedDeviceFor(c, user?.id ?? null);
    const client = await admitLogin(c, email, deviceId);
    if (!user) {
      await dummyVerify(input.password);
      await recordLoginFailure(c, email, client);
      await writeAudit(db, { actorId: null, actorRole: null, action: "auth.login_failed", targetType: "user", targetId: null, after: { reason: "unknown_email" }, ...audit });
      throw invalidCredentials();
    }
    const check = await verifyPassword(input.password, user.password_hash);
    if (!check.ok) await recordLoginFailure(c, email, client);
    else await clearLoginFailures(c, email, client);
    if (!check.ok || user.status !== "active") {
      await writeAudit(db, { actorId: user.id, actorRole: user.role, action: "auth.login_failed", targetType: "user", targetId: user.id, after: { reason: check.ok ? "disabled" : "bad_password", device: client.kind === "device" }, ...audit });
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
      await writeAudit(tx, { actorId: user.id, actorRole: user.role, action: "auth.login", targetType: "user", targetId: user.id, after: { device: client.kind === "device" }, ...audit });
      await issueDeviceCookie(c, user.id, deviceId);
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
  rotated_seconds_ago: number | null;
  successor_id: string | null;
  successor_enc: string | null;
}

type RefreshOutcome = { kind: "ok"; body: SessionBody } | { kind: "reused"; family: string } | { kind: "expired" } | { kind: "unknown" };

/**
 * Exchanges the refresh cookie for a new one and a new access token. The immediately previous token, presented
 * again within AUTH_REFRESH_GRACE_SECONDS of its rotation while its successor is still unused (two tabs refreshing
 * at once), answers with that same successor. Any other presentation of a rotated or revoked token is a replay of
 * a stolen token: the whole family is revoked and 401 REFRESH_TOKEN_REUSED returned.
 */
export async function refresh(c: Context<AppEnv>): Promise<SessionBody> {
  const token = await refreshTokenFromRequest(c);
  const tokenHash = await hashToken(token);
  const audit = await auditCtx(c);
  const graceSeconds = accountSettings(c.env).refreshGraceSeconds;
  const outcome = await c.get("db").write((db) =>
    db.transaction(async (tx): Promise<RefreshOutcome> => {
      const found = await tx.execute<TokenRow>(sql`
        select id, user_id, family_id, expires_at <= now() as expired, rotated_at, revoked_at, successor_id, successor_enc,
               extract(epoch from clock_timestamp() - rotated_at)::float8 as rotated_seconds_ago
        from refresh_tokens where token_hash = ${tokenHash} for update`);
      const row = found.rows[0];
      if (!row) return { kind: "unknown" };
      // Before anything changes: the CSRF token must be this session's own.
      await assertCsrfBound(c, row.family_id);
      if (row.rotated_at !== null && row.revoked_at === null && row.successor_id && row.successor_enc && row.rotated_seconds_ago !== null && row.rotated_seconds_ago <= graceSeconds) {
        // A separate statement (a fresh snapshot): a refresh that rotated this token just before us is visible.
        const successor = await tx.execute<{ live: boolean }>(sql`
          select rotated_at is null and revoked_at is null and expires_at > now() as live from refresh_tokens where id = ${row.successor_id} for update`);
        const users = await tx.execute<UserRow>(sql`select ${USER_COLUMNS} from users where id = ${row.user_id}`);
        const user = users.rows[0];
        if (successor.rows[0]?.live && user && user.status === "active") {
          const again = await decryptPii(piiRing(c), row.successor_enc, successorContext(row.id));
          setSessionCookies(c, again, await csrfTokenFor(c, row.family_id));
          await writeAudit(tx, { actorId: row.user_id, actorRole: null, action: "auth.refresh_grace", targetType: "session", targetId: row.family_id, ...audit });
          return { kind: "ok", body: await accessBody(c, user, row.family_id) };
        }
      }
      if (row.rotated_at !== null || row.revoked_at !== null) {
        await tx.execute(sql`update refresh_tokens set revoked_at = coalesce(revoked_at, now()), revoke_reason = coalesce(revoke_reason, 'reuse'), successor_enc = null
                             where family_id = ${row.family_id}`);
        await writeAudit(tx, { actorId: row.user_id, actorRole: null, action: "auth.refresh_reuse", targetType: "session", targetId: row.family_id, ...audit });
        return { kind: "reused", family: row.family_id };
      }
      if (row.expired) return { kind: "expired" };
      const users = await tx.execute<UserRow>(sql`select ${USER_COLUMNS} from users where id = ${row.user_id}`);
      const user = users.rows[0];
      if (!user || user.status !== "active") return { kind: "unknown" };
      const next = await issueRefresh(c, tx, user, row.family_id);
      // Only the newest rotation keeps its successor (for the grace): older ones are past it for good.
      await tx.execute(sql`update refresh_tokens set successor_enc = null where successor_id = ${row.id}`);
      await tx.execute(sql`update refresh_tokens set rotated_at = now(), successor_id = ${next.id},
                             successor_enc = ${await encryptPii(piiRing(c), next.token, successorContext(row.id))} where id = ${row.id}`);
      return { kind: "ok", body: await accessBody(c, user, row.family_id) };
    }),
  );
  if (outcome.kind === "ok") return outcome.body;
  clearSessionCookies(c);
  if (outcome.kind === "reused") {
    await markFamilyRevoked(c, outcome.family);
    throw new AppError("REFRESH_TOKEN_REUSED", "This session was ended because its refresh token was used twice; sign in again");
  }
  throw new AppError(outcome.kind === "expired" ? "SESSION_EXPIRED" : "NO_SESSION", "Sign in again");
}

/** Ends the session of the refresh cookie (its whole family). */
export async function logout(c: Context<AppEnv>): Promise<void> {
  const token = await refreshTokenFromRequest(c);
  const tokenHash = await hashToken(token);
  const audit = await auditCtx(c);
  const family = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const found = await tx.execute<{ family_id: string; user_id: string }>(sql`select family_id, user_id from refresh_tokens where token_hash = ${tokenHash}`);
      const session = found.rows[0];
      if (!session) return null;
      await assertCsrfBound(c, session.family_id);
      const res = await tx.execute<{ family_id: string }>(sql`
        update refresh_tokens set revoked_at = now(), revoke_reason = 'logout', successor_enc = null
        where family_id = ${session.family_id} and revoked_at is null
        returning family_id`);
      if (res.rows[0]) await writeAudit(tx, { actorId: session.user_id, actorRole: null, action: "auth.logout", targetType: "session", targetId: session.family_id, ...audit });
      return session.family_id;
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
      await tx.execute(sql`update refresh_tokens set revoked_at = now(), revoke_reason = 'logout_all', successor_enc = null where user_id = ${userId} and revoked_at is null`);
      const res = await tx.execute<{ token_epoch: number }>(sql`update users set token_epoch = token_epoch + 1, updated_at = now() where id = ${userId} returning token_epoch`);
      await writeAudit(tx, { actorId: userId, actorRole: null, action: "auth.logout_all", targetType: "user", targetId: userId, ...audit });
      return res.rows[0]?.token_epoch ?? 0;
    }),
  );
  clearSessionCookies(c);
  await raiseUserEpoch(c, userId, epoch);
}
