/**
 * Consumer of every dead-letter queue: stores each message in `dead_letters` (once per message id) so operators can
 * read it and send it back from the admin API. Storing is the only thing it does, so it acknowledges only what
 * Postgres accepted; the rest is retried.
 */
import { sql } from "drizzle-orm";
import type { DbRouter } from "../workers/platform/db";
import type { Logger } from "../workers/platform/logger";
import { errorFields } from "../workers/platform/logger";
import { logicalQueueName } from "../workers/platform/queues";

/** Stores a dead-letter batch. */
export async function consumeDeadLetters(batch: MessageBatch, db: DbRouter, log: Logger): Promise<void> {
  const queue = logicalQueueName(batch.queue) ?? batch.queue;
  for (const message of batch.messages) {
    const body = message.body as { task_name?: unknown; job_id?: unknown } | null;
    try {
      await db.write((primary) =>
        primary.execute(sql`insert into dead_letters (message_id, queue, task_name, job_id, body, attempts)
          values (${message.id}, ${queue}, ${typeof body?.task_name === "string" ? body.task_name : null}, ${typeof body?.job_id === "string" ? body.job_id : null},
            ${JSON.stringify(message.body)}::jsonb, ${message.attempts})
          on conflict (message_id) do nothing`),
      );
      log.warn("dead_letter_stored", { queue, message_id: message.id });
      message.ack();
    } catch (err) {
      log.error("dead_letter_store_failed", { queue, message_id: message.id, ...errorFields(err) });
      message.retry({ delaySeconds: 30 });
    }
  }
}
