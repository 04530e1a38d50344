/**
 * Where rendered emails go: an HTTP email API (Resend-compatible `POST /emails`) when EMAIL_API_URL is set, else —
 * in development and test only — the dev mailbox table, written in the consumer's transaction. A deployed
 * environment without an API fails loudly (the message retries, then dead-letters) instead of dropping mail.
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

/**
 * The HTTP provider. The job id is sent as the Idempotency-Key, so a redelivered job (the API accepted it, our
 * transaction then failed) is not delivered twice by the provider either.
 */
export function httpEmailProvider(api: { url: string; key: string }, from: string, fetcher: typeof fetch = fetch): EmailProvider {
  return {
    async send(_tx, jobId, email) {
      const res = await fetcher(`${api.url.replace(/\/+$/, "")}/emails`, {
        method: "POST",
        headers: { authorization: `Bearer ${api.key}`, "content-type": "application/json", "idempotency-key": jobId },
        body: JSON.stringify({ from, to: [email.to], subject: email.subject, html: email.html, text: email.text }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`email API answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    },
  };
}

/** The provider for this environment. */
export function emailProvider(config: AppConfig): EmailProvider {
  if (config.emailApi) return httpEmailProvider(config.emailApi, config.emailFrom);
  if (config.environment === "development" || config.environment === "test") return devMailbox;
  throw new Error("No email provider is configured for this environment (set EMAIL_API_URL and EMAIL_API_KEY)");
}
