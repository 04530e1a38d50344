/**
 * StockDO: the only writer of one SKU's stock (`sku:<SKU>`). Every change runs synchronously against the object's
 * SQLite storage between awaits, so concurrent reservations are serialised and availability can never go below
 * zero. Each committed change is a ledger entry with its own movement id, sent to the `inventory` queue after it is
 * stored; the consumer applies it to Postgres exactly once by movement id.
 *
 * One alarm serves three timers, always set to the earliest of them: the next hold expiry, the next ledger retry
 * (after a failed queue send) and the next coalesced availability report (held units, for the catalog). Nothing
 * else sets or deletes the alarm, so no timer can overwrite another.
 */
import { DurableObject } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { getConfig } from "../workers/platform/config";
import { DbRouter } from "../workers/platform/db";
import { createLogger } from "../workers/platform/logger";
import type { Envelope } from "../queues/envelope";
import { applySqliteMigrations } from "./sqlite-migrations";
import { stockMigrations } from "./stock-schema";

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

export type AdjustReason = "restock" | "adjustment" | "correction" | "return";

/** A staff restock or correction. The key makes it idempotent; actor and note become its audit row. */
export interface AdjustInput {
  delta: number;
  reason: AdjustReason;
  /** Idempotency key chosen by the caller; remembered per SKU for ADJUST_KEY_TTL_MS. */
  idempotencyKey: string;
  actor: { id: string | null; role: string };
  note: string | null;
  requestId: string | null;
}

export type AdjustResult =
  | { ok: true; onHand: number; available: number; movementId: string; replayed: boolean }
  | { ok: false; reason: "invalid_delta" | "invalid_note" | "invalid_key" | "key_reused" }
  | { ok: false; reason: "below_held"; held: number };

const MAX_QTY = 1000;
const MAX_TTL_SECONDS = 3600;
/** A failed queue send is retried this long after the failure (by the alarm). */
export const LEDGER_RETRY_MS = 60_000;
/** Availability reports to Postgres are coalesced: at most one per SKU per this interval. */
export const AVAILABILITY_REPORT_MS = 2_000;
/** How long an adjustment's idempotency key is remembered. */
export const ADJUST_KEY_TTL_MS = 24 * 3600_000;
// C0/C1 controls (NUL included) and lone surrogates: Postgres text and jsonb refuse some of them, and none
// belongs in a note a person wrote.
const BAD_TEXT = /[\p{Cc}\p{Cs}]/u;
const KEY = /^[A-Za-z0-9_:.-]{8,100}$/;

class UnknownSkuError extends Error {}

type LedgerRow = {
  movement_id: string;
  delta: number;
  reason: string;
  ref: string | null;
  on_hand_after: number;
  created_at: number;
  actor_id: string | null;
  actor_role: string | null;
  note: string | null;
  request_id: string | null;
  idem_key: string | null;
};

/** One Durable Object per SKU. */
export class StockDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The one in-flight first load from Postgres; every caller that finds the object cold awaits the same one. */
  private loading: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    applySqliteMigrations(ctx.storage, stockMigrations);
  }

  private meta(key: string): string | null {
    const row = this.sql.exec<{ value: string }>("select value from meta where key = ?", key).toArray()[0];
    return row?.value ?? null;
  }

  private setMeta(key: string, value: string | null): void {
    if (value === null) this.sql.exec("delete from meta where key = ?", key);
    else this.sql.exec("insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value", key, value);
  }

  private metaNumber(key: string): number | null {
    const v = this.meta(key);
    return v === null ? null : Number(v);
  }

  /**
   * Loads on_hand from the Postgres primary on first use. Not inside blockConcurrencyWhile (outside I/O there
   * stalls every event and a failure resets the object): concurrent first callers share one load promise, and
   * nothing reads stock until the load's results are stored in one synchronous transaction, so no reservation is
   * ever made against an unknown count. A failed load is forgotten and the next call tries again.
   */
  private async ensureLoaded(sku: string): Promise<void> {
    let known = this.meta("sku");
    if (known === null) {
      this.loading ??= this.loadFromPostgres(sku).finally(() => {
        this.loading = null;
      });
      await this.loading;
      known = this.meta("sku");
    }
    if (known !== sku) throw new Error(`StockDO for ${known ?? "(unloaded)"} called for ${sku}`);
  }

  private async loadFromPostgres(sku: string): Promise<void> {
    const config = getConfig(this.env);
    const db = new DbRouter(config, createLogger(config.logLevel, { durable_object: "StockDO", sku }));
    try {
      // The primary only, never a replica fallback: a lagging count would let the object sell stock twice.
      const result = await db.primary.execute<{ on_hand: number | null; track_inventory: boolean; backorder_allowed: boolean }>(sql`
        select i.on_hand, v.track_inventory, v.backorder_allowed
        from variants v left join inventory i on i.variant_id = v.id where v.sku = ${sku}`);
      const row = result.rows[0];
      if (!row) throw new UnknownSkuError(`unknown SKU ${sku}`);
      if (this.meta("sku") !== null) return;
      this.ctx.storage.transactionSync(() => {
        this.setMeta("on_hand", String(row.on_hand ?? 0));
        this.setMeta("tracked", row.track_inventory ? "1" : "0");
        this.setMeta("backorder", row.backorder_allowed ? "1" : "0");
        this.setMeta("sku", sku);
      });
    } finally {
      await db.end();
    }
  }

  private onHand(): number {
    return Number(this.meta("on_hand") ?? 0);
  }

  private held(): number {
    const row = this.sql.exec<{ held: number | null }>("select sum(qty) as held from holds where state = 'active'").toArray()[0];
    return row?.held ?? 0;
  }

  private available(): number {
    return Math.max(0, this.onHand() - this.held());
  }

  /** Marks holds past their expiry as expired; returns how many. Synchronous, so it cannot interleave. */
  private expireHolds(now: number): number {
    const n = this.sql.exec("update holds set state = 'expired' where state = 'active' and expires_at <= ?", now).rowsWritten;
    if (n > 0) this.availabilityChanged(now);
    return n;
  }

  /** Asks for an availability report: due now, or AVAILABILITY_REPORT_MS after the last one (coalescing). */
  private availabilityChanged(now: number): void {
    if (this.meta("report_due") !== null) return;
    const last = this.metaNumber("report_last") ?? 0;
    this.setMeta("report_due", String(Math.max(now, last + AVAILABILITY_REPORT_MS)));
  }

  private pendingLedger(): number {
    return this.sql.exec<{ n: number }>("select count(*) as n from ledger where delivered = 0").toArray()[0]?.n ?? 0;
  }

  /** The earliest of the three timers, or null when none is pending. */
  private nextWake(): number | null {
    const expiry = this.sql.exec<{ at: number | null }>("select min(expires_at) as at from holds where state = 'active'").toArray()[0]?.at ?? null;
    const retry = this.pendingLedger() > 0 ? (this.metaNumber("ledger_retry_at") ?? null) : null;
    const report = this.metaNumber("report_due");
    const times = [expiry, retry, report].filter((t): t is number => t !== null);
    return times.length === 0 ? null : Math.min(...times);
  }

  /** The only place that sets or deletes the alarm. */
  private async scheduleAlarm(): Promise<void> {
    const next = this.nextWake();
    const current = await this.ctx.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
    } else if (current !== next) {
      await this.ctx.storage.setAlarm(next);
    }
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
    // From here to the write nothing awaits: the check and the write are one step for every other caller.
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
    this.availabilityChanged(now);
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

  /** Turns an active hold into a sale: on_hand goes down and a ledger entry is written. Idempotent. */
  async commit(sku: string, holdId: string, ref: string): Promise<{ ok: boolean; state: string; onHand: number }> {
    await this.ensureLoaded(sku);
    const hold = this.sql.exec<{ qty: number; state: string }>("select qty, state from holds where hold_id = ?", holdId).toArray()[0];
    if (!hold) return { ok: false, state: "unknown", onHand: this.onHand() };
    if (hold.state === "committed") return { ok: true, state: "committed", onHand: this.onHand() };
    if (hold.state !== "active") return { ok: false, state: hold.state, onHand: this.onHand() };
    const after = this.onHand() - hold.qty;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("update holds set state = 'committed' where hold_id = ?", holdId);
      this.setMeta("on_hand", String(after));
      this.sql.exec(
        "insert into ledger (movement_id, delta, reason, ref, on_hand_after, created_at) values (?, ?, 'sale', ?, ?, ?)",
        crypto.randomUUID(),
        -hold.qty,
        ref,
        after,
        now,
      );
      this.availabilityChanged(now);
    });
    await this.deliverLedger();
    await this.scheduleAlarm();
    return { ok: true, state: "committed", onHand: after };
  }

  /** Gives a hold's units back. Idempotent; a committed hold stays committed. */
  async release(sku: string, holdId: string): Promise<{ ok: boolean; state: string }> {
    await this.ensureLoaded(sku);
    const hold = this.sql.exec<{ state: string }>("select state from holds where hold_id = ?", holdId).toArray()[0];
    if (!hold) return { ok: false, state: "unknown" };
    if (hold.state === "active") {
      this.sql.exec("update holds set state = 'released' where hold_id = ?", holdId);
      this.availabilityChanged(Date.now());
    }
    await this.scheduleAlarm();
    return { ok: hold.state === "active" || hold.state === "released", state: hold.state === "active" ? "released" : hold.state };
  }

  /**
   * Restock or correction: moves on_hand by `delta` (never below what is held) and writes a ledger entry that
   * carries the actor and note (its audit row is written with the movement in Postgres). Idempotent by key: a
   * repeat with the same key and the same delta/reason/note answers the first result with `replayed: true`; the
   * same key with anything else is `key_reused`. Everything is checked before anything changes.
   */
  async adjust(sku: string, input: AdjustInput): Promise<AdjustResult> {
    const { delta, reason, idempotencyKey, note } = input;
    if (!Number.isInteger(delta) || delta === 0 || Math.abs(delta) > 1_000_000) return { ok: false, reason: "invalid_delta" };
    if (note !== null && (note.length > 200 || BAD_TEXT.test(note))) return { ok: false, reason: "invalid_note" };
    if (!KEY.test(idempotencyKey) || BAD_TEXT.test(input.actor.role) || (input.actor.id !== null && BAD_TEXT.test(input.actor.id))) return { ok: false, reason: "invalid_key" };
    await this.ensureLoaded(sku);
    const now = Date.now();
    this.sql.exec("delete from adjustments where created_at < ?", now - ADJUST_KEY_TTL_MS);
    const fingerprint = JSON.stringify([delta, reason, note]);
    const seen = this.sql.exec<{ fingerprint: string; result: string }>("select fingerprint, result from adjustments where idem_key = ?", idempotencyKey).toArray()[0];
    if (seen) {
      if (seen.fingerprint !== fingerprint) return { ok: false, reason: "key_reused" };
      const first = JSON.parse(seen.result) as { onHand: number; available: number; movementId: string };
      return { ok: true, ...first, replayed: true };
    }
    this.expireHolds(now);
    const after = this.onHand() + delta;
    const held = this.held();
    if (after < held) return { ok: false, reason: "below_held", held };
    const movementId = crypto.randomUUID();
    const available = Math.max(0, after - held);
    this.ctx.storage.transactionSync(() => {
      this.setMeta("on_hand", String(after));
      this.sql.exec(
        `insert into ledger (movement_id, delta, reason, ref, on_hand_after, created_at, actor_id, actor_role, note, request_id, idem_key)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        movementId,
        delta,
        reason,
        `adjust:${idempotencyKey}`,
        after,
        now,
        input.actor.id,
        input.actor.role,
        note,
        input.requestId,
        idempotencyKey,
      );
      this.sql.exec(
        "insert into adjustments (idem_key, fingerprint, result, created_at) values (?, ?, ?, ?)",
        idempotencyKey,
        fingerprint,
        JSON.stringify({ onHand: after, available, movementId }),
        now,
      );
      this.availabilityChanged(now);
    });
    await this.deliverLedger();
    await this.scheduleAlarm();
    return { ok: true, onHand: after, available, movementId, replayed: false };
  }

  /** The SKU's stock right now. Throws when the SKU does not exist (see `find`). */
  async snapshot(sku: string): Promise<StockSnapshot> {
    await this.ensureLoaded(sku);
    this.expireHolds(Date.now());
    const active = this.sql.exec<{ n: number }>("select count(*) as n from holds where state = 'active'").toArray()[0]?.n ?? 0;
    return {
      sku,
      tracked: this.meta("tracked") === "1",
      backorder: this.meta("backorder") === "1",
      onHand: this.onHand(),
      held: this.held(),
      available: this.available(),
      activeHolds: active,
      pendingLedger: this.pendingLedger(),
      maxPerCustomer: this.maxPerCustomer(),
    };
  }

  /** Like `snapshot`, but null when the SKU does not exist; any other failure (Postgres down) still throws. */
  async find(sku: string): Promise<StockSnapshot | null> {
    try {
      return await this.snapshot(sku);
    } catch (err) {
      if (err instanceof UnknownSkuError) return null;
      throw err;
    }
  }

  /**
   * Sends undelivered ledger entries to the inventory queue, marking each once the queue accepted it. The entry is
   * already stored, so a failed send loses nothing: it records when to try again and the alarm does.
   */
  private async deliverLedger(): Promise<void> {
    const sku = this.meta("sku");
    if (sku === null) return;
    const pending = this.sql
      .exec<LedgerRow>(
        `select movement_id, delta, reason, ref, on_hand_after, created_at, actor_id, actor_role, note, request_id, idem_key
         from ledger where delivered = 0 order by created_at limit 100`,
      )
      .toArray();
    for (const e of pending) {
      const envelope: Envelope = {
        task_name: "inventory.movement",
        job_id: e.movement_id,
        payload: {
          sku,
          delta: e.delta,
          reason: e.reason,
          ref: e.ref,
          on_hand_after: e.on_hand_after,
          ...(e.actor_role === null
            ? {}
            : { audit: { actor_id: e.actor_id, actor_role: e.actor_role, note: e.note, request_id: e.request_id, idempotency_key: e.idem_key } }),
        },
        created_at: new Date(e.created_at).toISOString(),
        trace_id: null,
      };
      try {
        await this.env.INVENTORY_QUEUE.send(envelope, { contentType: "json" });
        this.sql.exec("update ledger set delivered = 1 where movement_id = ?", e.movement_id);
      } catch {
        this.setMeta("ledger_retry_at", String(Date.now() + LEDGER_RETRY_MS));
        return;
      }
    }
    if (this.pendingLedger() === 0) this.setMeta("ledger_retry_at", null);
  }

  /**
   * Sends the coalesced availability report (held units and on_hand, with a sequence number so Postgres keeps only
   * the newest) when one is due. Off the hot path: only the alarm calls it.
   */
  private async reportAvailability(now: number): Promise<void> {
    const due = this.metaNumber("report_due");
    const sku = this.meta("sku");
    if (due === null || due > now || sku === null) return;
    // Milliseconds, kept strictly increasing: newer than anything an earlier incarnation of this object sent.
    const seq = Math.max(now, (this.metaNumber("report_seq") ?? 0) + 1);
    const envelope: Envelope = {
      task_name: "inventory.availability",
      job_id: crypto.randomUUID(),
      payload: { sku, held: this.held(), on_hand: this.onHand(), seq },
      created_at: new Date(now).toISOString(),
      trace_id: null,
    };
    // Cleared before the send: a change during the send asks for a new report rather than being lost.
    this.setMeta("report_due", null);
    this.setMeta("report_seq", String(seq));
    this.setMeta("report_last", String(now));
    try {
      await this.env.INVENTORY_QUEUE.send(envelope, { contentType: "json" });
    } catch {
      if (this.meta("report_due") === null) this.setMeta("report_due", String(Date.now() + LEDGER_RETRY_MS));
    }
  }

  /** Expires holds, re-sends undelivered ledger entries, sends a due availability report, then re-arms. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.expireHolds(now);
    // Pending entries are retried whenever the alarm runs, even if it woke for a hold: an early retry is harmless.
    if (this.pendingLedger() > 0) await this.deliverLedger();
    await this.reportAvailability(now);
    await this.scheduleAlarm();
  }
}
