/**
 * The `email` queue consumer. Each message is one email job; a job that already produced its email (job_id in
 * email_deliveries) is acknowledged without sending again, so redelivery and the outbox sweep never double-send.
 * Failures retry with exponential backoff, then go to the dead-letter queue. The consumer only composes: accounts
 * says who an account email goes to (and mints its link), orders supplies an order's facts, email renders and sends.
 */
import { sql } from "drizzle-orm";
import type { AppConfig } from "../workers/platform/config";
import type { DbRouter } from "../workers/platform/db";
import type { Logger } from "../workers/platform/logger";
import { errorFields } from "../workers/platform/logger";
import { backoffSeconds, envelopeSchema } from "../workers/platform/envelope";
import { emailTaskSchema } from "../workers/platform/tasks";
import type { EmailTask } from "../workers/platform/tasks";
import { DEFAULT_MAILS_PER_ADDRESS_PER_HOUR, accountEmailFor, isAccountEmailTask } from "../workers/accounts";
import type { AccountEmail } from "../workers/accounts";
import { orderEmailFacts } from "../workers/orders";
import type { OrderEmailFacts } from "../workers/orders";
import {
  emailProvider,
  orderConfirmationMessage,
  orderRefundedMessage,
  outOfStockAfterPaymentMessage,
  passwordResetMessage,
  paymentFailedMessage,
  signupAttemptMessage,
  verifyEmailMessage,
} from "../workers/email";
import type { RenderedEmail } from "../workers/email";

type Outcome = "sent" | "duplicate" | "skipped";

type OrderEmailTask = Exclude<EmailTask, { task_name: "email.verify_email" | "email.password_reset" | "email.password_reset_request" | "email.signup_attempt" }>;

function renderAccountEmail(m: AccountEmail): RenderedEmail {
  switch (m.template) {
    case "verify_email":
      return verifyEmailMessage(m.to, m.link);
    case "password_reset":
      return passwordResetMessage(m.to, m.name, m.link);
    case "signup_attempt":
      return signupAttemptMessage(m.to, m.loginLink, m.resetLink);
  }
}

function renderOrderEmail(task: OrderEmailTask, o: OrderEmailFacts): RenderedEmail {
  switch (task.task_name) {
    case "email.order_confirmation":
      return orderConfirmationMessage(o);
    case "email.payment_failed":
      return paymentFailedMessage(o);
    case "email.order_refunded":
      return orderRefundedMessage(o, task.payload.amount_refunded);
    case "email.out_of_stock_after_payment":
      return outOfStockAfterPaymentMessage(o);
  }
}

/** Processes one email message; returns what happened (throws to have it retried). */
export async function processEmailMessage(body: unknown, config: AppConfig, db: DbRouter, mailLimit = DEFAULT_MAILS_PER_ADDRESS_PER_HOUR): Promise<Outcome> {
  const envelope = envelopeSchema.parse(body);
  const task = emailTaskSchema.parse({ task_name: envelope.task_name, payload: envelope.payload });
  // Order facts come from orders (its own read of the primary), before the delivery is claimed.
  const order = isAccountEmailTask(task) ? null : await orderEmailFacts({ db, config }, task.payload.order_id);
  return db.write((primary) =>
    primary.transaction(async (tx) => {
      const claimed = await tx.execute(sql`insert into email_deliveries (job_id, kind) values (${envelope.job_id}, ${task.task_name})
                                           on conflict (job_id) do nothing returning job_id`);
      if (claimed.rows.length === 0) return "duplicate";
      let email: RenderedEmail | null;
      if (isAccountEmailTask(task)) {
        // In this transaction: the token and the mail count commit with the delivery record, or not at all.
        const m = await accountEmailFor({ config }, tx, task, mailLimit);
        email = m && renderAccountEmail(m);
      } else {
        email = order && renderOrderEmail(task, order);
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
