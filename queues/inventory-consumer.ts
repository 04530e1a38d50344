/**
 * The `inventory` queue consumer: applies StockDO ledger entries to Postgres exactly once. The movement id is the
 * primary key of inventory_movements, so a redelivered entry inserts nothing and changes nothing; deltas commute,
 * so entries may arrive in any order. A staff adjustment's audit row is written in the same transaction as its
 * movement, so a moved unit always has one. Availability reports (units held) update `inventory.reserved`, the
 * newest report winning. Each applied change bumps the product's version (the detail cache shows it at once).
 */
import { sql } from "drizzle-orm";
import type { DbRouter } from "../workers/platform/db";
import type { Cache } from "../workers/platform/cache";
import type { Logger } from "../workers/platform/logger";
import { errorFields } from "../workers/platform/logger";
import { enqueueOutbox } from "../workers/platform/outbox";
import { dispatchOutbox } from "../workers/platform/outbox-dispatch";
import { writeAudit } from "../workers/platform/audit";
import { backoffSeconds, envelopeSchema, inventoryAvailabilitySchema, inventoryMovementSchema } from "./envelope";

type Applied = { applied: boolean; slug: string | null; version: number | null; outboxIds: string[] };

/** Applies one movement; returns whether it changed anything, and the product to invalidate. */
export async function applyMovement(body: unknown, db: DbRouter): Promise<Applied> {
  const envelope = envelopeSchema.parse(body);
  if (envelope.task_name === "inventory.availability") return applyAvailability(envelope.payload, db);
  const { payload } = inventoryMovementSchema.parse({ task_name: envelope.task_name, payload: envelope.payload });
  return db.write((primary) =>
    primary.transaction(async (tx) => {
      const inserted = await tx.execute<{ variant_id: string }>(sql`
        insert into inventory_movements (id, variant_id, sku, delta, reason, ref, on_hand_after)
        select ${envelope.job_id}::uuid, v.id, v.sku, ${payload.delta}, ${payload.reason}, ${payload.ref}, ${payload.on_hand_after}
        from variants v where v.sku = ${payload.sku}
        on conflict (id) do nothing
        returning variant_id`);
      const row = inserted.rows[0];
      if (!row) return { applied: false, slug: null, version: null, outboxIds: [] };
      await tx.execute(sql`update inventory set on_hand = on_hand + ${payload.delta}, updated_at = now() where variant_id = ${row.variant_id}`);
      if (payload.audit) {
        const a = payload.audit;
        await writeAudit(tx, {
          actorId: a.actor_id,
          actorRole: a.actor_role,
          action: "inventory.adjust",
          targetType: "sku",
          targetId: payload.sku,
          requestId: a.request_id,
          ipHash: null,
          after: { movement_id: envelope.job_id, delta: payload.delta, reason: payload.reason, note: a.note, on_hand: payload.on_hand_after, idempotency_key: a.idempotency_key },
        });
      }
      const product = await tx.execute<{ product_id: string | number; slug: string; version: string | number }>(sql`
        update products p set version = p.version + 1, updated_at = now()
        from variants v where v.id = ${row.variant_id} and p.id = v.product_id
        returning p.id as product_id, p.slug, p.version`);
      const p = product.rows[0];
      // In the same transaction: the SKU's availability may have flipped, so search must re-read the product.
      const outboxIds = p
        ? await enqueueOutbox(tx, [
            {
              queue: "search-index",
              taskName: "catalog.product.changed",
              payload: { product_id: Number(p.product_id), slug: p.slug, reason: "stock.changed", sku: payload.sku },
              traceId: envelope.trace_id,
            },
          ])
        : [];
      return { applied: true, slug: p?.slug ?? null, version: p ? Number(p.version) : null, outboxIds };
    }),
  );
}

/**
 * Records a StockDO's held units. Reports carry a strictly increasing sequence, so a late or redelivered older one
 * changes nothing. Only a changed count bumps the product version (and so the detail cache).
 */
async function applyAvailability(raw: Record<string, unknown>, db: DbRouter): Promise<Applied> {
  const { payload } = inventoryAvailabilitySchema.parse({ task_name: "inventory.availability", payload: raw });
  return db.write((primary) =>
    primary.transaction(async (tx) => {
      const updated = await tx.execute<{ variant_id: string | number; changed: boolean; flipped: boolean }>(sql`
        update inventory i set reserved = ${payload.held}, reserved_seq = ${payload.seq},
          updated_at = case when i.reserved <> ${payload.held} then now() else i.updated_at end
        from (select variant_id, reserved from inventory where sku = ${payload.sku} for update) old
        where i.variant_id = old.variant_id and i.reserved_seq < ${payload.seq}
        returning i.variant_id, old.reserved <> ${payload.held} as changed,
          (i.on_hand - old.reserved > 0) <> (i.on_hand - ${payload.held} > 0) as flipped`);
      const row = updated.rows[0];
      if (!row?.changed) return { applied: false, slug: null, version: null, outboxIds: [] };
      const product = await tx.execute<{ product_id: string | number; slug: string; version: string | number }>(sql`
        update products p set version = p.version + 1, updated_at = now()
        from variants v where v.id = ${row.variant_id} and p.id = v.product_id
        returning p.id as product_id, p.slug, p.version`);
      const p = product.rows[0];
      // Search keeps an in-stock flag per variant: re-index only when held units moved it across zero free.
      const outboxIds =
        p && row.flipped
          ? await enqueueOutbox(tx, [
              { queue: "search-index", taskName: "catalog.product.changed", payload: { product_id: Number(p.product_id), slug: p.slug, reason: "stock.held", sku: payload.sku }, traceId: null },
            ])
          : [];
      return { applied: true, slug: p?.slug ?? null, version: p ? Number(p.version) : null, outboxIds };
    }),
  );
}

/** Handles a batch message by message: ack what succeeded, retry with backoff what failed. */
export async function consumeInventoryBatch(batch: MessageBatch, env: Env, db: DbRouter, cache: Cache, log: Logger): Promise<void> {
  const outboxIds: string[] = [];
  for (const message of batch.messages) {
    try {
      const result = await applyMovement(message.body, db);
      if (result.applied && result.slug && result.version !== null) {
        await cache.raiseVersions({ [`ver:product:${result.slug}`]: result.version });
      }
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
