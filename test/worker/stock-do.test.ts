import { describe, expect, it } from "vitest";
import { env, createExecutionContext, createMessageBatch, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../workers/index";
import { sql } from "./helpers";
import type { AdjustInput } from "../../durable-objects/stock-do";

const stock = (sku: string) => env.STOCK_DO.getByName(`sku:${sku}`);

/** A staff adjustment as the admin route builds it. */
function adjustment(delta: number, reason: AdjustInput["reason"], key: string, note: string | null = null): AdjustInput {
  return { delta, reason, idempotencyKey: key, actor: { id: null, role: "staff-token" }, note, requestId: null };
}

async function onHandInPostgres(sku: string): Promise<number> {
  const [row] = await sql<{ on_hand: number }>("primary", "select on_hand from inventory where sku = $1", [sku]);
  return row?.on_hand ?? -1;
}

describe("StockDO", () => {
  it("never oversells: 1,000 concurrent reservations of one unit against the stock in Postgres", async () => {
    const sku = "BK00013-PB";
    const onHand = await onHandInPostgres(sku);
    expect(onHand).toBeGreaterThan(0);
    const stub = stock(sku);
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => stub.reserve(sku, `flash-${i}`, 1, 600)));
    const ok = results.filter((r) => r.ok).length;
    expect(ok).toBe(onHand);
    expect(results.filter((r) => !r.ok && r.reason === "insufficient_stock").length).toBe(1000 - onHand);
    const snap = await stub.snapshot(sku);
    expect(snap).toMatchObject({ onHand, held: onHand, available: 0, activeHolds: onHand });
  });

  it("is idempotent per hold id, commits into the ledger and releases stock back", async () => {
    const sku = "BK00014-PB";
    const onHand = await onHandInPostgres(sku);
    const stub = stock(sku);
    const first = await stub.reserve(sku, "hold-a", 3, 600);
    const again = await stub.reserve(sku, "hold-a", 3, 600);
    expect(first.ok && again.ok).toBe(true);
    expect((await stub.snapshot(sku)).held).toBe(3);
    const committed = await stub.commit(sku, "hold-a", "order-1");
    expect(committed).toEqual({ ok: true, state: "committed", onHand: onHand - 3 });
    expect(await stub.commit(sku, "hold-a", "order-1")).toEqual({ ok: true, state: "committed", onHand: onHand - 3 });
    await stub.reserve(sku, "hold-b", 2, 600);
    expect(await stub.release(sku, "hold-b")).toEqual({ ok: true, state: "released" });
    const reuse = await stub.reserve(sku, "hold-b", 2, 600);
    expect(reuse).toEqual({ ok: false, reason: "hold_closed", state: "released" });
    const snap = await stub.snapshot(sku);
    // The sale is in the ledger and already handed to the inventory queue.
    expect(snap).toMatchObject({ onHand: onHand - 3, held: 0, available: onHand - 3, pendingLedger: 0 });
    const ref = `po-${crypto.randomUUID().slice(0, 8)}`;
    expect(await stub.adjust(sku, adjustment(10, "restock", ref))).toMatchObject({ ok: true, onHand: onHand + 7, available: onHand + 7, replayed: false });

    // The ledger reaches Postgres through the real inventory queue: on_hand follows, one movement per entry.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await onHandInPostgres(sku)) !== onHand + 7) await new Promise((r) => setTimeout(r, 200));
    expect(await onHandInPostgres(sku)).toBe(onHand + 7);
    const [movement] = await sql<{ id: string; delta: number; on_hand_after: number; created_at: string }>(
      "primary",
      "select id, delta, on_hand_after, to_json(created_at) #>> '{}' as created_at from inventory_movements where sku = $1 and ref = $2",
      [sku, `adjust:${ref}`],
    );
    expect(movement).toMatchObject({ delta: 10, on_hand_after: onHand + 7 });

    // Delivered again (at least once means maybe twice): nothing changes.
    const body = {
      task_name: "inventory.movement",
      job_id: movement?.id,
      payload: { sku, delta: 10, reason: "restock", ref: `adjust:${ref}`, on_hand_after: onHand + 7 },
      created_at: movement?.created_at,
      trace_id: null,
    };
    const batch = createMessageBatch("nexusbooks-inventory", [
      { id: "r1", timestamp: new Date(), attempts: 2, body },
      { id: "r2", timestamp: new Date(), attempts: 3, body },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await onHandInPostgres(sku)).toBe(onHand + 7);
    const [count] = await sql<{ n: string }>("primary", "select count(*) as n from inventory_movements where ref = $1", [`adjust:${ref}`]);
    expect(Number(count?.n)).toBe(1);
  });

  it("releases expired holds by alarm so the stock comes back", async () => {
    const sku = "BK00011-PB";
    const onHand = await onHandInPostgres(sku);
    const stub = stock(sku);
    const hold = await stub.reserve(sku, "short", onHand, 1);
    expect(hold.ok).toBe(true);
    expect((await stub.snapshot(sku)).available).toBe(0);
    await new Promise((r) => setTimeout(r, 1_100));
    // The alarm may already have fired on its own; if not, run it now. Either way the hold must be expired in
    // storage before any RPC (which would also expire it) looks at it.
    await runDurableObjectAlarm(stub);
    const raw = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ state: string }>("select state from holds where hold_id = 'short'").one(),
    );
    expect(raw.state).toBe("expired");
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBeNull();
    const snap = await stub.snapshot(sku);
    expect(snap).toMatchObject({ held: 0, available: onHand, activeHolds: 0 });
    expect(await stub.commit(sku, "short", "late-order")).toEqual({ ok: false, state: "expired", onHand });
  });

  it("rejects bad quantities and never lets on_hand fall below what is held", async () => {
    const sku = "BK00010-PB";
    const stub = stock(sku);
    for (const qty of [0, 1.5, 1001, -3]) expect(await stub.reserve(sku, "x", qty, 60)).toEqual({ ok: false, reason: "invalid_quantity" });
    expect(await stub.reserve(sku, "x", 1, 0)).toEqual({ ok: false, reason: "invalid_ttl" });
    const onHand = await onHandInPostgres(sku);
    await stub.reserve(sku, "big", onHand, 600);
    expect(await stub.adjust(sku, adjustment(-1, "correction", "audit-1-key"))).toEqual({ ok: false, reason: "below_held", held: onHand });
    await expect(stub.reserve(sku, "y", 1, 600)).resolves.toMatchObject({ ok: false, reason: "insufficient_stock" });
  });
});
