/**
 * Where rendered emails go. Locally (development, test) that is the dev mailbox table, written in the consumer's
 * transaction; an HTTP email API takes its place in production (not configured yet — sending there fails loudly
 * instead of dropping mail).
 */
import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import type { AppConfig } from "../platform/config";
import type { RenderedEmail } from "./templates";

export interface EmailProvider {
  /** Sends one email; `jobId` is the idempotency key (a redelivered job must not send twice). */
  send(tx: Pick<Database, "execute">, jobId: string, email: RenderedEmail): Promise<void>;
}

const devMailbox: EmailProvider = {
  async send(tx, jobId, email) {
    await tx.execute(sql`insert into dev_mailbox (job_id, to_address, subject, html, text)
      values (${jobId}, ${email.to}, ${email.subject}, ${email.html}, ${email.text}) on conflict (job_id) do nothing`);
  },
};

/** The provider for this environment. */
export function emailProvider(config: AppConfig): EmailProvider {
  if (config.environment === "development" || config.environment === "test") return devMailbox;
  throw new Error("No email provider is configured for this environment");
}
