/**
 * What an account email needs, decided inside the email consumer's transaction: who to write to, and the single-use
 * link it carries. Accounts owns its users, tokens and mail counts, so it mints the token (stored hashed) and
 * applies the per-recipient mail limit here; the consumer only renders and sends what it gets.
 */
import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import type { ServiceContext } from "../platform/service-context";
import type { EmailTask } from "../platform/tasks";
import { hashToken, newOpaqueToken } from "./session";
import { normaliseEmail } from "./request-audit";

export const VERIFY_TOKEN_TTL_SECONDS = 24 * 3600;
export const RESET_TOKEN_TTL_SECONDS = 30 * 60;

/** Account mails per recipient account per hour when the caller does not say (AUTH_MAILS_PER_ADDRESS_PER_HOUR). */
export const DEFAULT_MAILS_PER_ADDRESS_PER_HOUR = 5;

/** The email tasks accounts answers for. */
export type AccountEmailTask = Extract<EmailTask, { task_name: "email.verify_email" | "email.password_reset" | "email.password_reset_request" | "email.signup_attempt" }>;

const ACCOUNT_TASKS: ReadonlySet<string> = new Set(["email.verify_email", "email.password_reset", "email.password_reset_request", "email.signup_attempt"]);

/** Whether `task` is an account email (else it is an order email). */
export function isAccountEmailTask(task: EmailTask): task is AccountEmailTask {
  return ACCOUNT_TASKS.has(task.task_name);
}

/** The template an account email uses and what it shows. */
export type AccountEmail =
  | { template: "verify_email"; to: string; link: string }
  /** `name` only when the owner proved the address (otherwise it may be a stranger's text). */
  | { template: "password_reset"; to: string; name: string | null; link: string }
  | { template: "signup_attempt"; to: string; loginLink: string; resetLink: string };

type Tx = Pick<Database, "execute">;
type MailKind = "email.verify_email" | "email.password_reset" | "email.signup_attempt";

/**
 * The email for an account task, or null when there is nobody to write to (no active account, already verified)
 * or the recipient already had `mailLimit` account mails in the last hour (so nobody can flood a mailbox through
 * sign-up, verification or reset requests). Runs in the caller's transaction, so the token and the mail count
 * commit with the delivery record or not at all; the user row is locked so concurrent jobs for one recipient count
 * one after another.
 */
export async function accountEmailFor(ctx: Pick<ServiceContext, "config">, tx: Tx, task: AccountEmailTask, mailLimit = DEFAULT_MAILS_PER_ADDRESS_PER_HOUR): Promise<AccountEmail | null> {
  if (task.task_name === "email.password_reset_request") {
    const found = await tx.execute<{ id: string }>(sql`select id from users where email_normalized = ${normaliseEmail(task.payload.email)} and status = 'active'`);
    const user = found.rows[0];
    return user ? mailFor(ctx, tx, "email.password_reset", user.id, mailLimit) : null;
  }
  return mailFor(ctx, tx, task.task_name, task.payload.user_id, mailLimit);
}

async function mailFor(ctx: Pick<ServiceContext, "config">, tx: Tx, kind: MailKind, userId: string, mailLimit: number): Promise<AccountEmail | null> {
  const users = await tx.execute<{ email: string; name: string | null; verified: boolean; status: string; recent: number }>(sql`
    select email, name, email_verified_at is not null as verified, status,
           (select count(*)::int from account_mails m where m.user_id = u.id and m.sent_at > now() - interval '1 hour') as recent
    from users u where id = ${userId} for update`);
  const user = users.rows[0];
  if (!user || user.status !== "active") return null;
  if (kind === "email.verify_email" && user.verified) return null;
  if (user.recent >= mailLimit) return null;
  await tx.execute(sql`delete from account_mails where user_id = ${userId} and sent_at < now() - interval '1 day'`);
  await tx.execute(sql`insert into account_mails (user_id, kind) values (${userId}, ${kind})`);
  const app = ctx.config.publicAppUrl;
  if (kind === "email.signup_attempt") return { template: "signup_attempt", to: user.email, loginLink: `${app}/login`, resetLink: `${app}/forgot-password` };
  const token = newOpaqueToken();
  const purpose = kind === "email.verify_email" ? "verify_email" : "reset_password";
  const ttl = purpose === "verify_email" ? VERIFY_TOKEN_TTL_SECONDS : RESET_TOKEN_TTL_SECONDS;
  await tx.execute(sql`insert into user_tokens (user_id, purpose, token_hash, expires_at)
    values (${userId}, ${purpose}, ${await hashToken(token)}, now() + make_interval(secs => ${ttl}))`);
  if (purpose === "verify_email") return { template: "verify_email", to: user.email, link: `${app}/verify-email?token=${token}` };
  return { template: "password_reset", to: user.email, name: user.verified ? user.name : null, link: `${app}/reset-password?token=${token}` };
}
