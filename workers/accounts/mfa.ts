/**
 * Optional TOTP second factor: enrol (a secret and an otpauth:// URI for a QR code), confirm with a first code
 * (which turns MFA on and hands out one-time recovery codes), disable (password and a code), and the second step
 * of login. Secrets are PII envelopes; codes cannot be replayed (last accepted step is stored) and recovery codes
 * are single-use.
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import type { Database } from "../platform/db";
import { AppError } from "../platform/errors";
import { writeAudit } from "../platform/audit";
import { decryptPii, encryptPii } from "../platform/pii";
import { piiRing } from "../platform/pii-keys";
import { enforceLimit } from "../platform/rate-limit";
import { generateRecoveryCodes, generateTotpSecret, hashRecoveryCode, totpUri, verifyTotp } from "./totp";
import { verifyMfaToken } from "./jwt";
import { verifyPassword } from "./password";
import { USER_COLUMNS, startSession } from "./service";
import { auditCtx } from "./request-audit";
import { issueDeviceCookie, trustedDeviceFor } from "./device";
import { accountSettings } from "./settings";
import type { SessionBody, UserRow } from "./service";

const totpContext = (userId: string): string => `user:${userId}:totp`;
const ISSUER = "NexusBooks";

interface MfaRow extends UserRow {
  mfa_secret_enc: string | null;
  mfa_pending_enc: string | null;
  mfa_last_step: string | number | null;
}

async function loadUser(db: Pick<Database, "execute">, userId: string): Promise<MfaRow> {
  const res = await db.execute<MfaRow>(sql`
    select ${USER_COLUMNS}, mfa_secret_enc, mfa_pending_enc, mfa_last_step
    from users where id = ${userId} for update`);
  const user = res.rows[0];
  if (!user) throw new AppError("NOT_FOUND", "User not found");
  return user;
}

const MFA_WINDOW_SECONDS = 300;

/**
 * Re-authentication for changes to the second factor: a bearer token alone (perhaps stolen, perhaps a device left
 * signed in) must not be enough to attach the attacker's authenticator or read fresh recovery codes.
 */
async function assertPassword(user: MfaRow, password: string): Promise<void> {
  const check = await verifyPassword(password, user.password_hash);
  if (!check.ok) throw new AppError("REAUTHENTICATION_FAILED", "The password is not correct");
}

/** Starts enrolment (after the password): a new secret (pending until confirmed) and its otpauth:// URI. */
export async function enrolTotp(c: Context<AppEnv>, userId: string, password: string): Promise<{ secret: string; otpauth_uri: string }> {
  await enforceLimit(c, "mfa-enrol", userId, accountSettings(c.env).mfaMaxAttempts, MFA_WINDOW_SECONDS);
  const secret = generateTotpSecret();
  const enc = await encryptPii(piiRing(c), secret, totpContext(userId));
  const email = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const user = await loadUser(tx, userId);
      if (user.mfa_enabled) throw new AppError("MFA_ALREADY_ENABLED", "Two-factor authentication is already on");
      await assertPassword(user, password);
      await tx.execute(sql`update users set mfa_pending_enc = ${enc}, updated_at = now() where id = ${userId}`);
      return user.email;
    }),
  );
  return { secret, otpauth_uri: totpUri({ secret, accountName: email, issuer: ISSUER }) };
}

/**
 * Confirms enrolment with the password and a code from the authenticator; turns MFA on and returns fresh recovery
 * codes. Attempts are limited per user (AUTH_MFA_MAX_ATTEMPTS per 5 minutes).
 */
export async function confirmTotp(c: Context<AppEnv>, userId: string, input: { password: string; code: string }): Promise<{ recovery_codes: string[] }> {
  await enforceLimit(c, "mfa-confirm", userId, accountSettings(c.env).mfaMaxAttempts, MFA_WINDOW_SECONDS);
  const code = input.code;
  const audit = await auditCtx(c);
  const codes = generateRecoveryCodes(10);
  const hashes = await Promise.all(codes.map((x) => hashRecoveryCode(x)));
  await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const user = await loadUser(tx, userId);
      if (user.mfa_enabled) throw new AppError("MFA_ALREADY_ENABLED", "Two-factor authentication is already on");
      if (!user.mfa_pending_enc) throw new AppError("MFA_NOT_ENROLLING", "Start enrolment first");
      await assertPassword(user, input.password);
      const secret = await decryptPii(piiRing(c), user.mfa_pending_enc, totpContext(userId));
      const check = await verifyTotp(secret, code, { atMs: Date.now(), lastUsedStep: null });
      if (!check.ok) throw new AppError("INVALID_MFA_CODE", "That code is not valid; check the time on your device");
      await tx.execute(sql`update users set mfa_enabled = true, mfa_secret_enc = mfa_pending_enc, mfa_pending_enc = null,
                             mfa_last_step = ${check.step}, updated_at = now() where id = ${userId}`);
      await tx.execute(sql`delete from mfa_recovery_codes where user_id = ${userId}`);
      for (const h of hashes) await tx.execute(sql`insert into mfa_recovery_codes (user_id, code_hash) values (${userId}, ${h})`);
      await writeAudit(tx, { actorId: userId, actorRole: user.role, action: "auth.mfa_enabled", targetType: "user", targetId: userId, ...audit });
    }),
  );
  return { recovery_codes: codes };
}

/**
 * Checks a second factor inside the caller's transaction: a 6-digit TOTP code (never one already used) or an unused
 * recovery code (used up by this call).
 */
async function checkSecondFactor(c: Context<AppEnv>, tx: Pick<Database, "execute">, user: MfaRow, code: string): Promise<"totp" | "recovery" | null> {
  const trimmed = code.trim();
  if (/^\d{6}$/.test(trimmed.replace(/\s/g, "")) && user.mfa_secret_enc) {
    const secret = await decryptPii(piiRing(c), user.mfa_secret_enc, totpContext(user.id));
    const last = user.mfa_last_step === null ? null : Number(user.mfa_last_step);
    const check = await verifyTotp(secret, trimmed, { atMs: Date.now(), lastUsedStep: last });
    if (!check.ok) return null;
    await tx.execute(sql`update users set mfa_last_step = ${check.step} where id = ${user.id}`);
    return "totp";
  }
  const used = await tx.execute(sql`update mfa_recovery_codes set used_at = now()
    where user_id = ${user.id} and code_hash = ${await hashRecoveryCode(trimmed)} and used_at is null returning code_hash`);
  return used.rows.length > 0 ? "recovery" : null;
}

/** Turns MFA off after the password and a current code (or a recovery code). */
export async function disableTotp(c: Context<AppEnv>, userId: string, input: { password: string; code: string }): Promise<void> {
  await enforceLimit(c, "mfa", userId, accountSettings(c.env).mfaMaxAttempts, MFA_WINDOW_SECONDS);
  const audit = await auditCtx(c);
  await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const user = await loadUser(tx, userId);
      if (!user.mfa_enabled) throw new AppError("MFA_NOT_ENABLED", "Two-factor authentication is off");
      const password = await verifyPassword(input.password, user.password_hash);
      const factor = password.ok ? await checkSecondFactor(c, tx, user, input.code) : null;
      if (!password.ok || !factor) throw new AppError("INVALID_MFA_CODE", "Password or code is not valid");
      await tx.execute(sql`update users set mfa_enabled = false, mfa_secret_enc = null, mfa_pending_enc = null, mfa_last_step = null,
                             updated_at = now() where id = ${userId}`);
      await tx.execute(sql`delete from mfa_recovery_codes where user_id = ${userId}`);
      await writeAudit(tx, { actorId: userId, actorRole: user.role, action: "auth.mfa_disabled", targetType: "user", targetId: userId, ...audit });
    }),
  );
}

/**
 * Second step of login: the MFA token from the password step plus a code, exchanged for a session. The token is
 * single-use (its jti is recorded; the user row lock serialises concurrent attempts, so one token can never give
 * two sessions) and allows AUTH_MFA_MAX_ATTEMPTS wrong codes. Attempts are limited per trusted device for a
 * client with a valid device cookie of the account, per account otherwise, so an attacker who knows the password
 * cannot lock the owner's known device out of this step either.
 */
export async function loginWithSecondFactor(c: Context<AppEnv>, input: { mfa_token: string; code: string }): Promise<SessionBody> {
  const token = await verifyMfaToken(c.get("config").jwtKeys, input.mfa_token);
  if (!token) throw new AppError("INVALID_MFA_TOKEN", "The login step expired; sign in again");
  const { userId, jti } = token;
  const maxAttempts = accountSettings(c.env).mfaMaxAttempts;
  const deviceId = await trustedDeviceFor(c, userId);
  if (deviceId) await enforceLimit(c, "mfa-device", deviceId, maxAttempts, MFA_WINDOW_SECONDS);
  else await enforceLimit(c, "mfa", userId, maxAttempts, MFA_WINDOW_SECONDS);
  const audit = await auditCtx(c);
  const result = await c.get("db").write((db) =>
    db.transaction(async (tx): Promise<SessionBody | "token_spent" | null> => {
      const user = await loadUser(tx, userId);
      if (!user.mfa_enabled || user.status !== "active") return null;
      // Spent and expired tokens of this user are kept a day (for the audit trail of attempts), then dropped here.
      await tx.execute(sql`delete from mfa_token_uses where user_id = ${userId} and created_at < now() - interval '1 day'`);
      const use = await tx.execute<{ attempts: number; consumed: boolean }>(sql`
        insert into mfa_token_uses (jti, user_id, attempts) values (${jti}, ${userId}, 1)
        on conflict (jti) do update set attempts = mfa_token_uses.attempts + 1
        returning attempts, consumed_at is not null as consumed`);
      const row = use.rows[0];
      if (!row || row.consumed || row.attempts > maxAttempts) return "token_spent";
      const factor = await checkSecondFactor(c, tx, user, input.code);
      if (!factor) return null;
      await tx.execute(sql`update mfa_token_uses set consumed_at = now() where jti = ${jti}`);
      await writeAudit(tx, { actorId: user.id, actorRole: user.role, action: "auth.login", targetType: "user", targetId: user.id, after: { mfa: factor, device: deviceId !== null }, ...audit });
      await issueDeviceCookie(c, user.id, deviceId);
      return startSession(c, tx, user, null);
    }),
  );
  if (result === "token_spent") throw new AppError("INVALID_MFA_TOKEN", "This login step is used up; sign in again");
  if (!result) {
    await c.get("db").write((db) =>
      writeAudit(db, { actorId: userId, actorRole: null, action: "auth.mfa_failed", targetType: "user", targetId: userId, ...audit }),
    );
    throw new AppError("MFA_CODE_REJECTED", "That code is not valid");
  }
  return result;
}
