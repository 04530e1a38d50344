/**
 * The stock of record in Postgres, written from StockDO ledger entries exactly once. The movement id is the
 * primary key of inventory_movements, so a redelivered entry inserts nothing and changes nothing; deltas commute,
 * so entries may arrive in any order. A staff adjustment's audit row is written in the same transaction as its
 * movement, so a moved unit always has one. Availability reports (units held) update `inventory.reserved`, the
 * newest report winning. Each applied change tells catalog its product changed (version, search reindex) in the
 * same transaction.
 */
import { sql } from "drizzle-orm";
import type { DbRouter } from "../platform/db";
import { writeAudit } from "../platform/audit";
import type { TaskPayload } from "../platform/tasks";
import { markProductsChanged, variantIdForSku } from "../catalog";
import type { ProductsChanged } from "../catalog";

/** What applying one entry did: whether it changed anything, and the products catalog marked (publish after commit). */
export interface LedgerOutcome extends ProductsChanged {
  applied: boolean;
}

const NOTHING: LedgerOutcome = { applied: false, products: [], outboxIds: [] };

/** Applies one StockDO movement (`movementId` is its envelope's job id) once. */
export async function applyMovement(db: Pick<DbRouter, "write">, movementId: string, payload: TaskPayload<"inventory.movement">, traceId: string | null): Promise<LedgerOutcome> {
  return db.write((primary) =>
    primary.transaction(async (tx) => {
      // The SKU's variant, from catalog (which owns variants); an unknown SKU inserts nothing, as before.
      const variantId = await variantIdForSku(tx, payload.sku);
      if (variantId === null) return NOTHING;
      const inserted = await tx.execute<{ variant_id: string | number }>(sql`
        insert into inventory_movements (id, variant_id, sku, delta, reason, ref, on_hand_after)
        values (${movementId}::uuid, ${variantId}, ${payload.sku}, ${payload.delta}, ${payload.reason}, ${payload.ref}, ${payload.on_hand_after})
        on conflict (id) do nothing
        returning variant_id`);
      const row = inserted.rows[0];
      if (!row) return NOTHING;
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
          after: { movement_id: movementId, delta: payload.delta, reason: payload.reason, note: a.note, on_hand: payload.on_hand_after, idempotency_key: a.idempotency_key },
        });
      }
      // In the same transaction: the SKU's availability may have flipped, so search must re-read the product.
      const changed = await markProductsChanged(tx, { variantIds: [Number(row.variant_id)], reason: "stock.changed", reindex: true, sku: payload.sku, traceId });
      return { applied: true, ...changed };
    }),
  );
}

/**
 * Records a StockDO's held units. Reports carry a strictly increasing sequence, so a late or redelivered older one
 * changes nothing. Only a changed count marks the product changed (and so the detail cache).
 */
export async function applyAvailability(db: Pick<DbRouter, "write">, payload: TaskPayload<"inventory.availability">): Promise<LedgerOutcome> {
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
      if (!row?.changed) return NOTHING;
      // Search keeps an in-stock flag per variant: re-index only when held units moved it across zero free.
      const changed = await markProductsChanged(tx, { variantIds: [Number(row.variant_id)], reason: "stock.held", reindex: row.flipped, sku: payload.sku, traceId: null });
      return { applied: true, ...changed };
    }),
  );
}
