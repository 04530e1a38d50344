/**
 * The CartDO's SQLite storage: synchronous reads and writes, so code that does not await between a check and a write
 * is atomic with respect to every other request to the cart.
 */
import type { CartStatus, VariantInfo } from "../workers/cart";
import { applySqliteMigrations } from "./sqlite-migrations";
import { cartMigrations } from "./cart-schema";

export interface CartMeta {
  id: string;
  owner: string | null;
  status: CartStatus | "merged";
  version: number;
  coupon: string | null;
  touchedAt: number;
  orderId: string | null;
}

export interface CartItem extends VariantInfo {
  qty: number;
  addedAt: number;
}

export interface CheckoutRow {
  key: string;
  orderId: string;
  requestHash: string;
  state: "started" | "done";
  request: string;
  result: string | null;
  createdAt: number;
  /** The saga run that holds this checkout, and until when (0: none in progress). */
  runId: string | null;
  runUntil: number;
}

/** Typed access to one cart's tables. */
export class CartStore {
  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.init();
  }

  /** Brings the tables to the current schema version (tracked in `_schema_migrations`). */
  init(): void {
    applySqliteMigrations(this.storage, cartMigrations);
  }

  private get(key: string): string | null {
    return this.sql.exec<{ value: string }>("select value from meta where key = ?", key).toArray()[0]?.value ?? null;
  }

  private set(key: string, value: string | null): void {
    if (value === null) this.sql.exec("delete from meta where key = ?", key);
    else this.sql.exec("insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value", key, value);
  }

  /** The cart's header, or null when it was never created (or was deleted by expiry). */
  meta(): CartMeta | null {
    const id = this.get("id");
    if (id === null) return null;
    return {
      id,
      owner: this.get("owner"),
      status: (this.get("status") ?? "open") as CartMeta["status"],
      version: Number(this.get("version") ?? 0),
      coupon: this.get("coupon"),
      touchedAt: Number(this.get("touched_at") ?? 0),
      orderId: this.get("order_id"),
    };
  }

  create(id: string, owner: string | null, now: number): void {
    this.set("id", id);
    this.set("owner", owner);
    this.set("status", "open");
    this.set("version", "1");
    this.set("touched_at", String(now));
  }

  /** Records a change: bumps the version and the idle clock. */
  touch(now: number): number {
    const v = Number(this.get("version") ?? 0) + 1;
    this.set("version", String(v));
    this.set("touched_at", String(now));
    return v;
  }

  setStatus(status: CartMeta["status"], orderId: string | null): void {
    this.set("status", status);
    this.set("order_id", orderId);
  }

  setCoupon(code: string | null): void {
    this.set("coupon", code);
  }

  items(): CartItem[] {
    return this.sql
      .exec<{ sku: string; qty: number; variant_id: number; product_id: number; title: string; slug: string; format: string; unit_price: number; currency: string; purchasable: number; added_at: number }>(
        "select * from items order by added_at, sku",
      )
      .toArray()
      .map((r) => ({
        sku: r.sku,
        qty: r.qty,
        variantId: r.variant_id,
        productId: r.product_id,
        title: r.title,
        slug: r.slug,
        format: r.format,
        unitPrice: r.unit_price,
        currency: r.currency,
        purchasable: r.purchasable === 1,
        addedAt: r.added_at,
      }));
  }

  item(sku: string): CartItem | null {
    return this.items().find((i) => i.sku === sku) ?? null;
  }

  /** Inserts or replaces a line (the variant snapshot is refreshed on every add). */
  putItem(v: VariantInfo, qty: number, now: number): void {
    this.sql.exec(
      `insert into items (sku, qty, variant_id, product_id, title, slug, format, unit_price, currency, purchasable, added_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (sku) do update set qty = excluded.qty, variant_id = excluded.variant_id, product_id = excluded.product_id,
         title = excluded.title, slug = excluded.slug, format = excluded.format, unit_price = excluded.unit_price,
         currency = excluded.currency, purchasable = excluded.purchasable`,
      v.sku, qty, v.variantId, v.productId, v.title, v.slug, v.format, v.unitPrice, v.currency, v.purchasable ? 1 : 0, now,
    );
  }

  setQty(sku: string, qty: number): void {
    this.sql.exec("update items set qty = ? where sku = ?", qty, sku);
  }

  removeItem(sku: string): boolean {
    return this.sql.exec("delete from items where sku = ?", sku).rowsWritten > 0;
  }

  clearItems(): void {
    this.sql.exec("delete from items");
  }

  checkout(key: string): CheckoutRow | null {
    const r = this.sql
      .exec<{ idem_key: string; order_id: string; request_hash: string; state: string; request: string; result: string | null; created_at: number; run_id: string | null; run_until: number }>(
        "select * from checkouts where idem_key = ?",
        key,
      )
      .toArray()[0];
    return r ? { key: r.idem_key, orderId: r.order_id, requestHash: r.request_hash, state: r.state as CheckoutRow["state"], request: r.request, result: r.result, createdAt: r.created_at, runId: r.run_id, runUntil: r.run_until }
      : null;
  }

  /** The checkout that holds the lock, if any. */
  activeCheckout(): CheckoutRow | null {
    const r = this.sql.exec<{ idem_key: string }>("select idem_key from checkouts where state = 'started' order by created_at desc limit 1").toArray()[0];
    return r ? this.checkout(r.idem_key) : null;
  }

  startCheckout(row: Omit<CheckoutRow, "state" | "result">): void {
    this.sql.exec(
      "insert into checkouts (idem_key, order_id, request_hash, state, request, result, created_at, run_id, run_until) values (?, ?, ?, 'started', ?, null, ?, ?, ?)",
      row.key, row.orderId, row.requestHash, row.request, row.createdAt, row.runId, row.runUntil,
    );
  }

  /** Hands a started checkout to a (new) saga run until `until`; `runId` null and `until` 0 release it. */
  leaseCheckout(key: string, runId: string | null, until: number): void {
    this.sql.exec("update checkouts set run_id = ?, run_until = ? where idem_key = ? and state = 'started'", runId, until, key);
  }

  finishCheckout(key: string, result: string): void {
    this.sql.exec("update checkouts set state = 'done', result = ? where idem_key = ?", result, key);
  }

  dropCheckout(key: string): void {
    this.sql.exec("delete from checkouts where idem_key = ?", key);
  }

  wasMerged(fromCartId: string): boolean {
    return this.sql.exec("select 1 from merged_from where cart_id = ?", fromCartId).toArray().length > 0;
  }

  recordMerge(fromCartId: string, now: number): void {
    this.sql.exec("insert into merged_from (cart_id, merged_at) values (?, ?) on conflict do nothing", fromCartId, now);
  }
}
