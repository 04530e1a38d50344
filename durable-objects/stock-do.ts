/**
 * StockDO: the only writer of one SKU's stock (`sku:<SKU>`). Every change runs synchronously against the object's
 * SQLite storage between awaits, so concurrent reservations are serialised and availability can never go below
 * zero. Holds expire by alarm. Each committed change is a ledger entry with its own movement id, sent to the
 * `inventory` queue after it is stored (and re-sent by the alarm if that fails); the consumer applies it to
 * Postgres exactly once by movement id.
 */
import { DurableObject } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { getConfig } from "../workers/platform/config";
import { DbRouter } from "../workers/platform/db";
import { createLogger } from "../workers/platform/logger";
import type { Envelope } from "../queues/envelope";

export type ReserveResult =
  | { ok: true; holdId: string; qty: number; available: number; expiresAt: number }
  | { ok: false; reason: "invalid_quantity" | "invalid_ttl" }
  | { ok: false; reason: "insufficient_stock"; available: number }
  | { ok: false; reason: "hold_closed"; state: string }
  | { ok: false; reason: "owner_limit"; scope: string; max: number; held: number };

/**
 * Who a hold is for, with the most units of this SKU that key may hold at once (README "Checkout abuse policy").
 * `scope` "customer" also meets the merchant's max per customer, which counts units already sold to the key too.
 */
export interface HoldOwner {
  key: string;
  scope: "customer" | "ip";
  max: number;
}

export interface StockSnapshot {
  sku: string;
  tracked: boolean;
  /** Sold beyond on_hand when true (pre-orders); availability is then not a limit. */
  backorder: boolean;
  onHand: number;
  held: number;
  available: number;
  activeHolds: number;
  pendingLedger: number;
  /** The merchant's sale limit: units one customer may buy of this SKU (null: only the hold caps apply). */
  maxPerCustomer: number | null;
}

const MAX_QTY = 1000;
const MAX_TTL_SECONDS = 3600;

/** One Durable Object per SKU. */
export class StockDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      create table if not exists meta (key text primary key, value text not null);
      create table if not exists holds (
        hold_id text primary key, qty integer not null check (qty > 0), expires_at integer not null,
        state text not null check (state in ('active','committed','released','expired')), created_at integer not null);
      create index if not exists holds_active on holds (state, expires_at);
      create table if not exists ledger (
        movement_id text primary key, delta integer not null, reason text not null, ref text,
        on_hand_after integer not null, created_at integer not null, delivered integer not null default 0);
      create table if not exists hold_owners (owner_key text not null, hold_id text not null, primary key (owner_key, hold_id));`);
  }

  private meta(key: string): string | null {
    const row = this.sql.exec<{ value: string }>("select value from meta where key = ?", key).toArray()[0];
    return row?.value ?? null;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value", key, value);
  }

  /**
   * Loads on_hand from the Postgres primary on first use. blockConcurrencyWhile holds every other event until the
   * object knows its stock: nothing may be reserved against an unknown count.
   */
  private async ensureLoaded(sku: string): Promise<void> {
    const known = this.meta("sku");
    if (known !== null) {
      if (known !== sku) throw new Error(`StockDO for ${known} called for ${sku}`);
      return;
    }
    await this.ctx.blockConcurrencyWhile(async () => {
      if (this.meta("sku") !== null) return;
      const config = getConfig(this.env);
      const db = new DbRouter(config, createLogger(config.logLevel, { durable_object: "StockDO", sku }));
      try {
        const { value } = await db.read(
          (r) =>
            r.rows<{ on_hand: number | null; track_inventory: boolean; backorder_allowed: boolean }>(sql`
              select i.on_hand, v.track_inventory, v.backorder_allowed
              from variants v left join inventory i on i.variant_id = v.id where v.sku = ${sku}`),
          { primary: true },
        );
        const row = value[0];
        if (!row) throw new Error(`unknown SKU ${sku}`);
        this.setMeta("on_hand", String(row.on_hand ?? 0));
        this.setMeta("tracked", row.track_inventory ? "1" : "0");
        this.setMeta("backorder", row.backorder_allowed ? "1" : "0");
        this.setMeta("sku", sku);
      } finally {
        await db.end();
      }
    });
  }

  private onHand(): number {
    return Number(this.meta("on_hand") ?? 0);
  }

  private held(): number {
    const row = this.sql.exec<{ held: number | null }>("select sum(qty) as held from holds where state = 'active'").toArray()[0];
    return row?.held ?? 0;
  }

  /** Marks holds past their expiry as expired; returns how many. Synchronous, so it cannot interleave. */
  private expireHolds(now: number): number {
    return this.sql.exec("update holds set state = 'expired' where state = 'active' and expires_at <= ?", now).rowsWritten;
  }

  private async scheduleAlarm(): Promise<void> {
    const next = this.sql.exec<{ at: number | null }>("select min(expires_at) as at from holds where state = 'active'").toArray()[0]?.at ?? null;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }

  /**
   * Reserves `qty` units under `holdId` for `ttlSeconds`. Idempotent per holdId: a repeat returns the same hold.
   * Refuses (never partially fills) when fewer units are available.
   */
  async reserve(sku: string, holdId: string, qty: number, ttlSeconds: number, owners: HoldOwner[] = []): Promise<ReserveResult> {
    // Bad input is an answer, not an exception: a thrown error would cross the RPC boundary as an uncaught one.
    if (!Number.isInteger(qty) || qty < 1 || qty > MAX_QTY) return { ok: false, reason: "invalid_quantity" };
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) return { ok: false, reason: "invalid_ttl" };
    await this.ensureLoaded(sku);
    const now = Date.now();
    // From here to the end of the method nothing awaits before the hold is written: the check and the write are
    // one step for every other caller.
    this.expireHolds(now);
    const existing = this.sql.exec<{ qty: number; state: string; expires_at: number }>("select qty, state, expires_at from holds where hold_id = ?", holdId).toArray()[0];
    if (existing) {
      if (existing.state !== "active") return { ok: false, reason: "hold_closed", state: existing.state };
      return { ok: true, holdId, qty: existing.qty, available: this.available(), expiresAt: existing.expires_at };
    }
    const available = this.available();
    const unlimited = this.meta("tracked") === "0" || this.meta("backorder") === "1";
    // Sold out answers first: a flash sale's losers learn it without any per-customer bookkeeping.
    if (!unlimited && qty > available) return { ok: false, reason: "insufficient_stock", available };
    const overCap = this.ownerProblem(owners, qty);
    if (overCap) return overCap;
    const expiresAt = now + ttlSeconds * 1000;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("insert into holds (hold_id, qty, expires_at, state, created_at) values (?, ?, ?, 'active', ?)", holdId, qty, expiresAt, now);
      for (const o of owners) this.sql.exec("insert into hold_owners (owner_key, hold_id) values (?, ?) on conflict do nothing", o.key, holdId);
    });
    await this.scheduleAlarm();
    return { ok: true, holdId, qty, available: available - qty, expiresAt };
  }

  /** Units `key` holds now, plus (when `sold`) units of its holds already committed. */
  private ownedBy(key: string, sold: boolean): number {
    const states = sold ? "('active','committed')" : "('active')";
    const row = this.sql
      .exec<{ n: number | null }>(`select sum(h.qty) as n from hold_owners o join holds h on h.hold_id = o.hold_id where o.owner_key = ? and h.state in ${states}`, key)
      .toArray()[0];
    return row?.n ?? 0;
  }

  /** The first owner this hold would put over its cap (or the merchant's max per customer), if any. */
  private ownerProblem(owners: HoldOwner[], qty: number): ReserveResult | null {
    const merchantMax = this.maxPerCustomer();
    for (const o of owners) {
      if (!Number.isInteger(o.max) || o.max < 1) continue;
      const held = this.ownedBy(o.key, false);
      if (held + qty > o.max) return { ok: false, reason: "owner_limit", scope: o.scope, max: o.max, held };
      if (o.scope === "customer" && merchantMax !== null) {
        const bought = this.ownedBy(o.key, true);
        if (bought + qty > merchantMax) return { ok: false, reason: "owner_limit", scope: "max_per_customer", max: merchantMax, held: bought };
      }
    }
    return null;
  }

  private maxPerCustomer(): number | null {
    const v = this.meta("max_per_customer");
    return v === null ? null : Number(v);
  }

  /** Sets (or with null removes) the merchant's sale limit on this SKU. Existing holds stay; new ones meet it. */
  async setMaxPerCustomer(sku: string, max: number | null): Promise<{ ok: boolean; maxPerCustomer: number | null }> {
    if (max !== null && (!Number.isInteger(max) || max < 1 || max > MAX_QTY)) return { ok: false, maxPerCustomer: this.maxPerCustomer() };
    await this.ensureLoaded(sku);
    if (max === null) this.sql.exec("delete from meta where key = 'max_per_customer'");
    else this.setMeta("max_per_customer", String(max));
    return { ok: true, maxPerCustomer: max };
  }

  /**
   * Moves an active hold's expiry later to `expiresAt` (never earlier, never more than an hour from now): for a
   * payment that is in progress. Expired, released and committed holds are not revived.
   */
  async extendHold(sku: string, holdId: string, expiresAt: number): Promise<{ ok: true; expiresAt: number } | { ok: false; state: string }> {
    await this.ensureLoaded(sku);
    const now = Date.now();
    this.expireHolds(now);
    const hold = this.sql.exec<{ state: string; expires_at: number }>("select state, expires_at from holds where hold_id = ?", holdId).toArray()[0];
    if (!hold) return { ok: false, state: "unknown" };
    if (hold.state !== "active") return { ok: false, state: hold.state };
    const until = Math.min(Math.max(hold.expires_at, Math.floor(expiresAt)), now + MAX_TTL_SECONDS * 1000);
    if (until !== hold.expires_at) {
      this.sql.exec("update holds set expires_at = ? where hold_id = ?", until, holdId);
      await this.scheduleAlarm();
    }
    return { ok: true, expiresAt: until };
  }

  private available(): number {
    return Math.max(0, this.onHand() - this.held());
  }

  /** Turns an active hold into a sale: on_hand goes down and a ledger entry is written. Idempotent. */
  async commit(sku: string, holdId: string, ref: string): Promise<{ ok: boolean; state: string; onHand: number }> {
    await this.ensureLoaded(sku);
    const hold = this.sql.exec<{ qty: number; state: string }>("select qty, state from holds where hold_id = ?", holdId).toArray()[0];
    if (!hold) return { ok: false, state: "unknown", onHand: this.onHand() };
    if (hold.state === "committed") return { ok: true, state: "committed", onHand: this.onHand() };
    if (hold.state !== "active") return { ok: false, state: hold.state, onHand: this.onHand() };
    const after = this.onHand() - hold.qty;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("update holds set state = 'committed' where hold_id = ?", holdId);
      this.setMeta("on_hand", String(after));
      this.sql.exec(
        "insert into ledger (movement_id, delta, reason, ref, on_hand_after, created_at) values (?, ?, 'sale', ?, ?, ?)",
        crypto.randomUUID(),
        -hold.qty,
        ref,
        after,
        Date.now(),
      );
    });
    await this.scheduleAlarm();
    await this.deliverLedger();
    return { ok: true, state: "committed", onHand: after };
  }

  /** Gives a hold's units back. Idempotent; a committed hold stays committed. */
  async release(sku: string, holdId: string): Promise<{ ok: boolean; state: string }> {
    await this.ensureLoaded(sku);
    const hold = this.sql.exec<{ state: string }>("select state from holds where hold_id = ?", holdId).toArray()[0];
    if (!hold) return { ok: false, state: "unknown" };
    if (hold.state === "active") this.sql.exec("update holds set state = 'released' where hold_id = ?", holdId);
    await this.scheduleAlarm();
    return { ok: hold.state === "active" || hold.state === "released", state: hold.state === "active" ? "released" : hold.state };
  }

  /** Restock or correction: moves on_hand by `delta` (never below what is held) and writes a ledger entry. */
  async adjust(
    sku: string,
    delta: number,
    reason: "restock" | "adjustment" | "correction" | "return",
    ref: string,
  ): Promise<{ ok: true; onHand: number; available: number } | { ok: false; reason: "invalid_delta" | "below_held"; held?: number }> {
    if (!Number.isInteger(delta) || delta === 0 || Math.abs(delta) > 1_000_000) return { ok: false, reason: "invalid_delta" };
    await this.ensureLoaded(sku);
    this.expireHolds(Date.now());
    const after = this.onHand() + delta;
    if (after < this.held()) return { ok: false, reason: "below_held", held: this.held() };
    this.ctx.storage.transactionSync(() => {
      this.setMeta("on_hand", String(after));
      this.sql.exec(
        "insert into ledger (movement_id, delta, reason, ref, on_hand_after, created_at) values (?, ?, ?, ?, ?, ?)",
        crypto.randomUUID(),
        delta,
        reason,
        ref,
        after,
        Date.now(),
      );
    });
    await this.deliverLedger();
    return { ok: true, onHand: after, available: this.available() };
  }

  /** The SKU's stock right now. */
  async snapshot(sku: string): Promise<StockSnapshot> {
    await this.ensureLoaded(sku);
    this.expireHolds(Date.now());
    const active = this.sql.exec<{ n: number }>("select count(*) as n from holds where state = 'active'").toArray()[0]?.n ?? 0;
    const pending = this.sql.exec<{ n: number }>("select count(*) as n from ledger where delivered = 0").toArray()[0]?.n ?? 0;
    return {
      sku,
      tracked: this.meta("tracked") === "1",
      backorder: this.meta("backorder") === "1",
      onHand: this.onHand(),
      held: this.held(),
      available: this.available(),
      activeHolds: active,
      pendingLedger: pending,
      maxPerCustomer: this.maxPerCustomer(),
    };
  }

  /**
   * Sends undelivered ledger entries to the inventory queue, marking each once the queue accepted it. The entry is
   * already stored, so a failed send loses nothing: the alarm tries again a minute later.
   */
  private async deliverLedger(): Promise<void> {
    const sku = this.meta("sku");
    if (sku === null) return;
    const pending = this.sql
      .exec<{ movement_id: string; delta: number; reason: string; ref: string | null; on_hand_after: number; created_at: number }>(
        "select movement_id, delta, reason, ref, on_hand_after, created_at from ledger where delivered = 0 order by created_at limit 100",
      )
      .toArray();
    for (const e of pending) {
      const envelope: Envelope = {
        task_name: "inventory.movement",
        job_id: e.movement_id,
        payload: { sku, delta: e.delta, reason: e.reason, ref: e.ref, on_hand_after: e.on_hand_after },
        created_at: new Date(e.created_at).toISOString(),
        trace_id: null,
      };
      try {
        await this.env.INVENTORY_QUEUE.send(envelope, { contentType: "json" });
        this.sql.exec("update ledger set delivered = 1 where movement_id = ?", e.movement_id);
      } catch {
        await this.ctx.storage.setAlarm(Date.now() + 60_000);
        return;
      }
    }
  }

  /** Releases expired holds, re-sends undelivered ledger entries, and schedules the next expiry. */
  override async alarm(): Promise<void> {
    this.expireHolds(Date.now());
    await this.deliverLedger();
    await this.scheduleAlarm();
  }
}
