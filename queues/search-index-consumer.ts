/**
 * The `search-index` queue consumer. A batch is handled as one unit of work: jobs already applied (job_id in
 * search_index_jobs) are acknowledged, the products named by the others are rebuilt from the primary and
 * handed to the engine in one call, then the jobs are recorded and the index version raised. A failure retries
 * the batch's new jobs with exponential backoff; after max_retries they go to the dead-letter queue.
 */
import { sql } from "drizzle-orm";
import type { AppConfig } from "../workers/platform/config";
import type { Cache } from "../workers/platform/cache";
import type { DbRouter } from "../workers/platform/db";
import type { Logger } from "../workers/platform/logger";
import { errorFields } from "../workers/platform/logger";
import { publishIndexVersion, reindexProducts, routerGateway, searchEngineFor } from "../workers/search";
import { backoffSeconds, envelopeSchema } from "../workers/platform/envelope";
import { searchIndexTaskSchema } from "../workers/platform/tasks";

interface Job {
  message: Message;
  jobId: string;
  productId: number;
}

/** Handles one batch of search index jobs. */
export async function consumeSearchIndexBatch(batch: MessageBatch, config: AppConfig, db: DbRouter, cache: Cache, log: Logger): Promise<void> {
  const jobs: Job[] = [];
  for (const message of batch.messages) {
    const envelope = envelopeSchema.safeParse(message.body);
    const task = envelope.success ? searchIndexTaskSchema.safeParse({ task_name: envelope.data.task_name, payload: envelope.data.payload }) : null;
    if (!envelope.success || !task?.success) {
      // Malformed: retrying cannot help, but dropping would hide it; let it reach the dead-letter queue.
      log.error("search_index_job_invalid", { message_id: message.id, attempts: message.attempts });
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
      continue;
    }
    jobs.push({ message, jobId: envelope.data.job_id, productId: task.data.payload.product_id });
  }
  if (jobs.length === 0) return;
  const gateway = routerGateway(db);
  const acked = new Set<Job>();
  try {
    const done = await gateway.write((w) =>
      w.rows<{ job_id: string }>(sql`select job_id::text from search_index_jobs where job_id in (${sql.join(jobs.map((j) => sql`${j.jobId}::uuid`), sql`, `)})`),
    );
    const seen = new Set(done.map((r) => r.job_id));
    const fresh = jobs.filter((j) => !seen.has(j.jobId));
    for (const j of jobs) {
      if (seen.has(j.jobId)) {
        j.message.ack();
        acked.add(j);
      }
    }
    if (fresh.length === 0) return;
    const engine = searchEngineFor(config, db);
    const { documents, version } = await reindexProducts(gateway, engine, fresh.map((j) => j.productId));
    await gateway.write((w) =>
      w.rows(sql`insert into search_index_jobs (job_id, product_id)
        values ${sql.join(fresh.map((j) => sql`(${j.jobId}::uuid, ${j.productId})`), sql`, `)}
        on conflict (job_id) do nothing`),
    );
    await publishIndexVersion(cache, version);
    for (const j of fresh) j.message.ack();
    log.info("search_indexed", { jobs: fresh.length, products: new Set(fresh.map((j) => j.productId)).size, documents, version, engine: engine.name });
  } catch (err) {
    log.error("search_index_failed", { jobs: jobs.length, ...errorFields(err) });
    for (const j of jobs) if (!acked.has(j)) j.message.retry({ delaySeconds: backoffSeconds(j.message.attempts) });
  }
}
