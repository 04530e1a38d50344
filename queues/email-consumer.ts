/**
 * The `email` queue consumer. Each message is one email job; a job that already produced its email (job_id in
 * email_deliveries) is acknowledged without sending again, so redelivery and the outbox sweep never double-send.
 * Failures retry with exponential backoff, then go to the dead-letter queue.
 */
import { sql } from "drizzle-orm";
import type { AppConfig } from "../workers/platform/config";
import type { DbRouter } from "../workers/platform/db";
import type { Logger } from "../workers/platform/logger";
import { errorFields } from "../workers/platform/logger";
import { hashToken, newOpaqueToken } from "../workers/accounts/session";
import { emailProvider } from "../workers/email/provider";
import { orderConfirmationMessage, orderRefundedMessage, outOfStockAfterPaymentMessage, passwordResetMessage, paymentFailedMessage, signupAttemptMessage, verifyEmailMessage } from "../workers/email/templates";
import type { OrderEmailData, RenderedEmail } from "../workers/email/templates";
import type { Database } from "../workers/platform/db";
import { orderNumber } from "../workers/checkout/order-writer";
import { backoffSeconds, emailTaskSchema, envelopeSchema } from "./envelope";

export const VERIFY_TOKEN_TTL_SECONDS = 24 * 3600;
export const RESET_TOKEN_TTL_SECONDS = 30 * 60;

type Outcome = "sent" | "duplicate" | "skipped";

type Tx = Pick<Database, "execute">;

type AccountKind = "email.verify_email" | "email.password_reset" | "email.signup_attempt";

/** Account mails per recipient account per hour when the caller does not say (AUTH_MAILS_PER_ADDRESS_PER_HOUR). */
export const DEFAULT_MAILS_PER_ADDRESS_PER_HOUR = 5;

/**
 * Renders an account email for `userId`, or null when there is nobody to write to or the recipient already had
 * `mailLimit` account mails in the last hour (so nobody can flood a mailbox through sign-up, verification or reset
 * requests). The user row is locked so concurrent jobs for one recipient count one after another.
 */
async function accountEmail(tx: Tx, config: AppConfig, kind: AccountKind, userId: string, mailLimit: number): Promise<RenderedEmail | null> {
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
  if (kind === "email.signup_attempt") {
    return signupAttemptMessage(user.email, `${config.publicAppUrl}/login`, `${config.publicAppUrl}/forgot-password`);
  }
  const token = newOpaqueToken();
  const purpose = kind === "email.verify_email" ? "verify_email" : "reset_password";
  const ttl = purpose === "verify_email" ? VERIFY_TOKEN_TTL_SECONDS : RESET_TOKEN_TTL_SECONDS;
  await tx.execute(sql`insert into user_tokens (user_id, purpose, token_hash, expires_at)
    values (${userId}, ${purpose}, ${await hashToken(token)}, now() + make_interval(secs => ${ttl}))`);
  const link = `${config.publicAppUrl}/${purpose === "verify_email" ? "verify-email" : "reset-password"}?token=${token}`;
  // Only an owner who proved the address chose the name; otherwise it may be a stranger's text.
  return purpose === "verify_email" ? verifyEmailMessage(user.email, link) : passwordResetMessage(user.email, user.verified ? user.name : null, link);
}

async function orderEmailData(tx: Tx, config: AppConfig, orderId: string): Promise<OrderEmailData | null> {
  const rows = await tx.execute<Omit<OrderEmailData, "link" | "number"> & { number: number; id: string }>(sql`
    select o.id, o.email, o.number, o.currency, o.subtotal, o.tax_total, o.shipping_total, o.grand_total,
      coalesce((select json_agg(json_build_object('title', l.title, 'format', l.format, 'quantity', l.quantity, 'line_total', l.line_total) order by l.line_no)
                from order_lines l where l.order_id = o.id), '[]') as lines
    from orders o where o.id = ${orderId}`);
  const o = rows.rows[0];
  if (!o) return null;
  return { ...o, number: orderNumber(Number(o.number)), link: `${config.publicAppUrl}/orders/${o.id}` };
}

/** Processes one email message; returns what happened (throws to have it retried). */
export async function processEmailMessage(body: unknown, config: AppConfig, db: DbRouter, mailLimit = DEFAULT_MAILS_PER_ADDRESS_PER_HOUR): Promise<Outcome> {
  const envelope = envelopeSchema.parse(body);
  const task = emailTaskSchema.parse({ task_name: envelope.task_name, payload: envelope.payload });
  return db.write((primary) =>
    primary.transaction(async (tx) => {
      const claimed = await tx.execute(sql`insert into email_deliveries (job_id, kind) values (${envelope.job_id}, ${task.task_name})
                                           on conflict (job_id) do nothing returning job_id`);
      if (claimed.rows.length === 0) return "duplicate";
      let email: RenderedEmail | null;
      if (task.task_name === "email.verify_email" || task.task_name === "email.password_reset" || task.task_name === "email.signup_attempt") {
        email = await accountEmail(tx, config, task.task_name, task.payload.user_id, mailLimit);
      } else if (task.task_name === "email.password_reset_request") {
        const found = await tx.execute<{ id: string }>(sql`select id from users where email_normalized = ${task.payload.email} and status = 'active'`);
        const user = found.rows[0];
        email = user ? await accountEmail(tx, config, "email.password_reset", user.id, mailLimit) : null;
      } else {
        const o = await orderEmailData(tx, config, task.payload.order_id);
        if (!o) return "skipped";
        email =
          task.task_name === "email.order_confirmation"
            ? orderConfirmationMessage(o)
            : task.task_name === "email.payment_failed"
              ? paymentFailedMessage(o)
              : task.task_name === "email.order_refunded"
                ? orderRefundedMessage(o, task.payload.amount_refunded)
                : outOfStockAfterPaymentMessage(o);
      }
      if (!email) return "skipped";
      await emailProvider(config).send(tx, envelope.job_id, email);
      return "sent";
    }),
  );
}

/** Handles a batch message by message: ack what succeeded, retry with backoff what failed. */
export async function consumeEmailBatch(batch: MessageBatch, config: AppConfig, db: DbRouter, log: Logger, mailLimit = DEFAULT_MAILS_PER_ADDRESS_PER_HOUR): Promise<void> {
  for (const message of batch.messages) {
    try {
      const outcome = await processEmailMessage(message.body, config, db, mailLimit);
      log.info("email_job", { message_id: message.id, outcome, attempts: message.attempts });
      message.ack();
    } catch (err) {
      log.error("email_job_failed", { message_id: message.id, attempts: message.attempts, ...errorFields(err) });
      message.retry({ delaySeconds: backoffSeconds(message.attempts, config.queueBackoffBaseSeconds) });
    }
  }
}
