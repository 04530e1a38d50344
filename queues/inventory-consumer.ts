/**
 * The `inventory` queue consumer: hands each StockDO ledger entry or availability report to the inventory domain
 * (which applies it to Postgres exactly once and has catalog mark the product changed in the same transaction),
 * then publishes the new product versions and dispatches the search reindex jobs.
 */
import type { DbRouter } from "../workers/platform/db";
import type { Cache } from "../workers/platform/cache";
import type { Logger } from "../workers/platform/logger";
import { errorFields } from "../workers/platform/logger";
import { dispatchOutbox } from "../workers/platform/outbox-dispatch";
import { backoffSeconds, envelopeSchema } from "../workers/platform/envelope";
import { inventoryAvailabilitySchema, inventoryMovementSchema } from "../workers/platform/tasks";
import { applyAvailability, applyMovement } from "../workers/inventory";
import type { LedgerOutcome } from "../workers/inventory";
import { publishProductVersions } from "../workers/catalog";

/** Applies one inventory message (a movement or an availability report); throws on a malformed one. */
export async function applyInventoryMessage(body: unknown, db: DbRouter): Promise<LedgerOutcome> {
  const envelope = envelopeSchema.parse(body);
  if (envelope.task_name === "inventory.availability") {
    const { payload } = inventoryAvailabilitySchema.parse({ task_name: envelope.task_name, payload: envelope.payload });
    return applyAvailability(db, payload);
  }
  const { payload } = inventoryMovementSchema.parse({ task_name: envelope.task_name, payload: envelope.payload });
  return applyMovement(db, envelope.job_id, payload, envelope.trace_id);
}

/** Handles a batch message by message: ack what succeeded, retry with backoff what failed. */
export async function consumeInventoryBatch(batch: MessageBatch, env: Env, db: DbRouter, cache: Cache, log: Logger): Promise<void> {
  const outboxIds: string[] = [];
  for (const message of batch.messages) {
    try {
      const result = await applyInventoryMessage(message.body, db);
      if (result.applied) await publishProductVersions(cache, result.products);
      outboxIds.push(...result.outboxIds);
      message.ack();
    } catch (err) {
      log.error("inventory_movement_failed", { message_id: message.id, attempts: message.attempts, ...errorFields(err) });
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
  // Committed already; a lost send is picked up by the cron sweep.
  if (outboxIds.length > 0) {
    await db.write((primary) => dispatchOutbox(env, primary, log, { ids: outboxIds })).catch((err: unknown) => {
      log.warn("outbox_dispatch_deferred", errorFields(err));
    });
  }
}
