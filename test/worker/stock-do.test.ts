import { describe, expect, it } from "vitest";
import { env, createExecutionContext, createMessageBatch, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../workers/index";
import { ADMIN_TOKEN, DEAD_PORT, call, json, sql, stack } from "./helpers";
import type { ErrorBody } from "./helpers";
import type { AdjustInput } from "../../durable-objects/stock-do";
import { LEDGER_RETRY_MS } from "../../durable-objects/stock-do";
import { stockMigrations } from "../../durable-objects/stock-schema";

const stock = (sku: string) => env.STOCK_DO.getByName(`sku:${sku}`);

/** A staff adjustment as the admin route builds it. */
function adjustment(delta: number, reason: AdjustInput["reason"], key: string, note: string | null = null): AdjustInput {
  return { delta, reason, idempotencyKey: key, actor: { id: null, role: "staff-token" }, note, requestId: null };
}

async function onHandInPostgres(sku: string): Promise<number> {
  const [row] = await sql<{ on_hand: number }>("primary", "select on_hand from inventory where sku = $1", [sku]);
  return row?.on_hand ?? -1;
}

type Stub = ReturnType<typeof stock>;

/** Swaps the environment a live StockDO instance sees (fault injection on the real object); returns the original. */
async function swapEnv(stub: Stub, change: (e: Env) => Env): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    const holder = instance as unknown as { env: Env; originalEnv?: Env };
    holder.originalEnv ??= holder.env;
    holder.env = change(holder.originalEnv);
  });
}

async function restoreEnv(stub: Stub): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    const holder = instance as unknown as { env: Env; originalEnv?: Env };
    if (holder.originalEnv) holder.env = holder.originalEnv;
  });
}

const failingQueue = { send: () => Promise.reject(new Error("queue unavailable")), sendBatch: () => Promise.reject(new Error("queue unavailable")) } as unknown as Queue;

async function waitFor(check: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
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
    // Once the coalesced availability report has gone out, nothing is left to wake for.
    expect(await waitFor(async () => (await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())) === null, 5_000)).toBe(true);
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

  it("keeps the ledger retry alarm while holds come and go, and the entry arrives when it fires", async () => {
    const sku = "BK00015-PB";
    const stub = stock(sku);
    const onHand = (await stub.snapshot(sku)).onHand;
    await swapEnv(stub, (e) => ({ ...e, INVENTORY_QUEUE: failingQueue }));
    const ref = `retry-${crypto.randomUUID().slice(0, 8)}`;
    expect((await stub.reserve(sku, "sold", 2, 600)).ok).toBe(true);
    const failedAt = Date.now();
    expect(await stub.commit(sku, "sold", ref)).toEqual({ ok: true, state: "committed", onHand: onHand - 2 });
    expect((await stub.snapshot(sku)).pendingLedger).toBe(1);

    // Holds come and go: each reserve, release and expiry used to re-arm (or delete) the one alarm.
    expect((await stub.reserve(sku, "churn-1", 1, 600)).ok).toBe(true);
    expect(await stub.release(sku, "churn-1")).toEqual({ ok: true, state: "released" });
    expect((await stub.reserve(sku, "churn-2", 1, 1)).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1_300));
    expect((await stub.snapshot(sku)).held).toBe(0);
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    // Due no later than one retry interval after the latest failed send.
    expect(alarm as number).toBeLessThanOrEqual(Date.now() + LEDGER_RETRY_MS);
    expect(alarm as number).toBeGreaterThanOrEqual(failedAt);
    expect((await stub.snapshot(sku)).pendingLedger).toBe(1);

    await restoreEnv(stub);
    await runDurableObjectAlarm(stub);
    expect((await stub.snapshot(sku)).pendingLedger).toBe(0);
    const arrived = await waitFor(async () => (await sql("primary", "select 1 from inventory_movements where ref = $1", [ref])).length === 1);
    expect(arrived).toBe(true);
  });

  it("tracks its SQLite schema in _schema_migrations", async () => {
    const stub = stock("BK00016-PB");
    const versions = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec<{ version: number; name: string }>("select version, name from _schema_migrations order by version").toArray(),
    );
    expect(versions.map((v) => v.version)).toEqual(stockMigrations.map((m) => m.version));
    expect(versions.length).toBeGreaterThanOrEqual(2);
    const columns = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec<{ name: string }>("select name from pragma_table_info('ledger')").toArray().map((c) => c.name));
    expect(columns).toEqual(expect.arrayContaining(["actor_id", "note", "idem_key"]));
  });

  it("serves a burst of first callers on a cold SKU consistently, and recovers from a failed load", async () => {
    const sku = "BK00017-PB";
    const stub = stock(sku);
    const expected = await onHandInPostgres(sku);
    // Postgres unreachable on first use: the caller gets an error, the object stays usable.
    await swapEnv(stub, (e) => ({ ...e, DATABASE_URL: `postgres://postgres@127.0.0.1:${DEAD_PORT}/${stack.database}` }));
    const failed: unknown = await stub.snapshot(sku).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(Error);
    await restoreEnv(stub);
    const snaps = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? stub.snapshot(sku) : stub.reserve(sku, `cold-${i}`, 1, 600))));
    for (const [i, r] of snaps.entries()) if (i % 2 === 1) expect(r).toMatchObject({ ok: true });
    const snap = await stub.snapshot(sku);
    expect(snap).toMatchObject({ onHand: expected, held: 25, activeHolds: 25 });
  });

  it("answers a clean 503 with a code when the StockDO throws, and works again after", async () => {
    const sku = "BK00018-PB";
    const stub = stock(sku);
    await swapEnv(stub, (e) => ({ ...e, DATABASE_URL: `postgres://postgres@127.0.0.1:${DEAD_PORT}/${stack.database}` }));
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const res = await call(`/v1/admin/inventory/${sku}`, { headers });
    expect(res.status).toBe(503);
    const body = await json<ErrorBody>(res);
    expect(body.error.code).toBe("DURABLE_OBJECT_UNAVAILABLE");
    expect(body.error.request_id).toBeTruthy();
    await restoreEnv(stub);
    const ok = await call(`/v1/admin/inventory/${sku}`, { headers });
    expect(ok.status).toBe(200);
    const missing = await call("/v1/admin/inventory/NO-SUCH-SKU-1", { headers });
    expect(missing.status).toBe(404);
    expect((await json<ErrorBody>(missing)).error.code).toBe("VARIANT_NOT_FOUND");
  });
});
