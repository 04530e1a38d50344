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
import { passwordResetMessage, verifyEmailMessage } from "../workers/email/templates";
import { backoffSeconds, emailTaskSchema, envelopeSchema } from "./envelope";

export const VERIFY_TOKEN_TTL_SECONDS = 24 * 3600;
export const RESET_TOKEN_TTL_SECONDS = 30 * 60;

type Outcome = "sent" | "duplicate" | "skipped";

/** Processes one email message; returns what happened (throws to have it retried). */
export async function processEmailMessage(body: unknown, config: AppConfig, db: DbRouter): Promise<Outcome> {
  const envelope = envelopeSchema.parse(body);
  const task = emailTaskSchema.parse({ task_name: envelope.task_name, payload: envelope.payload });
  return db.write((primary) =>
    primary.transaction(async (tx) => {
      const claimed = await tx.execute(sql`insert into email_deliveries (job_id, kind) values (${envelope.job_id}, ${task.task_name})
                                           on conflict (job_id) do nothing returning job_id`);
      if (claimed.rows.length === 0) return "duplicate";
      const users = await tx.execute<{ email: string; name: string | null; verified: boolean; status: string }>(sql`
        select email, name, email_verified_at is not null as verified, status from users where id = ${task.payload.user_id}`);
      const user = users.rows[0];
      if (!user || user.status !== "active") return "skipped";
      if (task.task_name === "email.verify_email" && user.verified) return "skipped";
      const token = newOpaqueToken();
      const purpose = task.task_name === "email.verify_email" ? "verify_email" : "reset_password";
      const ttl = purpose === "verify_email" ? VERIFY_TOKEN_TTL_SECONDS : RESET_TOKEN_TTL_SECONDS;
      await tx.execute(sql`insert into user_tokens (user_id, purpose, token_hash, expires_at)
        values (${task.payload.user_id}, ${purpose}, ${await hashToken(token)}, now() + make_interval(secs => ${ttl}))`);
      const link = `${config.publicAppUrl}/${purpose === "verify_email" ? "verify-email" : "reset-password"}?token=${token}`;
      const email = purpose === "verify_email" ? verifyEmailMessage(user.email, user.name, link) : passwordResetMessage(user.email, user.name, link);
      await emailProvider(config).send(tx, envelope.job_id, email);
      return "sent";
    }),
  );
}

/** Handles a batch message by message: ack what succeeded, retry with backoff what failed. */
export async function consumeEmailBatch(batch: MessageBatch, config: AppConfig, db: DbRouter, log: Logger): Promise<void> {
  for (const message of batch.messages) {
    try {
      const outcome = await processEmailMessage(message.body, config, db);
      log.info("email_job", { message_id: message.id, outcome, attempts: message.attempts });
      message.ack();
    } catch (err) {
      log.error("email_job_failed", { message_id: message.id, attempts: message.attempts, ...errorFields(err) });
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
}
