/**
 * Email verification and password reset. Requests write an outbox row in a transaction and dispatch it after
 * commit (the cron sweep catches what that misses); the email consumer mints the single-use, expiring token
 * (stored hashed), applies the per-address mail limit and sends the link. Reset requests answer the same, after the
 * same work, whether or not the email has an account.
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { writeAudit } from "../platform/audit";
import { enqueueOutbox, outboxEvent } from "../platform/outbox";
import { clientIp } from "../platform/client-ip";
import { dispatchAfterCommit } from "../platform/outbox-dispatch";
import { enforceLimit } from "../platform/rate-limit";
import { checkPasswordPolicy, hashPassword } from "./password";
import { hashToken } from "./session";
import { auditCtx, normaliseEmail } from "./request-audit";
import { queueAccountEmail } from "./email-queue";
import { raiseUserEpoch } from "./revocation";

/** Sends (again) the verification email to the signed-in user. */
export async function requestVerification(c: Context<AppEnv>, userId: string): Promise<void> {
  await enforceLimit(c, "verify-email", userId, 3, 3600);
  const ids = await c.get("db").write(async (db) => {
    const res = await db.execute<{ verified: boolean }>(sql`select email_verified_at is not null as verified from users where id = ${userId}`);
    if (res.rows[0]?.verified) throw new AppError("EMAIL_ALREADY_VERIFIED", "This email address is already confirmed");
    return queueAccountEmail(c.get("traceId"), db, "email.verify_email", userId);
  });
  dispatchAfterCommit(c, ids);
}

const badLink = (): AppError => new AppError("INVALID_OR_EXPIRED_TOKEN", "This link is invalid, already used or expired");

/** Confirms an email address with a token from the verification email. */
export async function confirmEmail(c: Context<AppEnv>, token: string): Promise<void> {
  const audit = await auditCtx(c);
  const tokenHash = await hashToken(token);
  await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const used = await tx.execute<{ user_id: string }>(sql`
        update user_tokens set used_at = now()
        where token_hash = ${tokenHash} and purpose = 'verify_email' and used_at is null and expires_at > now()
        returning user_id`);
      const row = used.rows[0];
      if (!row) throw badLink();
      await tx.execute(sql`update users set email_verified_at = coalesce(email_verified_at, now()), updated_at = now() where id = ${row.user_id}`);
      await writeAudit(tx, { actorId: row.user_id, actorRole: null, action: "auth.email_verified", targetType: "user", targetId: row.user_id, ...audit });
    }),
  );
}

/**
 * Starts a password reset. Always the same answer in the same time, so it cannot be used to find out who has an
 * account: both branches look the address up, write an audit row and one outbox job keyed by the address, and
 * dispatch it; only the email consumer, off the request path, decides whether there is anyone to write to.
 */
export async function requestPasswordReset(c: Context<AppEnv>, rawEmail: string): Promise<void> {
  const email = normaliseEmail(rawEmail);
  await enforceLimit(c, "reset-ip", clientIp(c), 10, 3600);
  await enforceLimit(c, "reset-account", email, 3, 3600);
  const audit = await auditCtx(c);
  const ids = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const res = await tx.execute<{ id: string }>(sql`select id from users where email_normalized = ${email} and status = 'active'`);
      const user = res.rows[0];
      await writeAudit(tx, { actorId: null, actorRole: null, action: "auth.password_reset_requested", targetType: "user", targetId: user?.id ?? null, ...audit });
      return enqueueOutbox(tx, [outboxEvent("email.password_reset_request", { email }, c.get("traceId"))]);
    }),
  );
  dispatchAfterCommit(c, ids);
}

/** Sets a new password with a reset token; ends every session of the account. */
export async function resetPassword(c: Context<AppEnv>, token: string, password: string): Promise<void> {
  const audit = await auditCtx(c);
  const tokenHash = await hashToken(token);
  const result = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const found = await tx.execute<{ user_id: string; email: string; name: string | null }>(sql`
        select t.user_id, u.email, u.name from user_tokens t join users u on u.id = t.user_id
        where t.token_hash = ${tokenHash} and t.purpose = 'reset_password' and t.used_at is null and t.expires_at > now()
        for update of t`);
      const row = found.rows[0];
      if (!row) throw badLink();
      const policy = checkPasswordPolicy(password, { email: row.email, ...(row.name ? { name: row.name } : {}) });
      if (!policy.ok) throw new AppError(policy.code, policy.message, { suggestions: policy.suggestions });
      const hash = await hashPassword(password);
      await tx.execute(sql`update user_tokens set used_at = now() where user_id = ${row.user_id} and purpose = 'reset_password' and used_at is null`);
      await tx.execute(sql`update refresh_tokens set revoked_at = now(), revoke_reason = 'password_reset' where user_id = ${row.user_id} and revoked_at is null`);
      const epoch = await tx.execute<{ token_epoch: number }>(sql`
        update users set password_hash = ${hash}, token_epoch = token_epoch + 1, updated_at = now() where id = ${row.user_id} returning token_epoch`);
      await writeAudit(tx, { actorId: row.user_id, actorRole: null, action: "auth.password_reset", targetType: "user", targetId: row.user_id, ...audit });
      return { userId: row.user_id, epoch: epoch.rows[0]?.token_epoch ?? 0 };
    }),
  );
  await raiseUserEpoch(c, result.userId, result.epoch);
}
