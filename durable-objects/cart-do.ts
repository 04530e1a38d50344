/**
 * CartDO: the only writer of one cart (`cart:<id>`). Items, coupon, owner, status (open → checking_out → ordered) and
 * checkouts live in the object's SQLite storage. Every check-then-write runs without an await in between, and the
 * checkout lock is persisted before the saga's first outside await, so an add-to-cart arriving mid-checkout sees it.
 * Reads never touch Postgres: lines carry the price snapshot taken when they were added and availability comes from
 * the StockDOs. Idle carts expire by alarm and give back any holds.
 */
import { DurableObject } from "cloudflare:workers";
import { getConfig } from "../workers/platform/config";
import type { AppConfig } from "../workers/platform/config";
import { createLogger, errorFields } from "../workers/platform/logger";
import type { Logger } from "../workers/platform/logger";
import { callCart, callStock } from "../workers/platform/do-access";
import type { BeginCheckout, CartFailure, CartLineView, CartResult, CartView, CheckoutOutcome, CheckoutRequest, CheckoutSuccess, SagaInput, SagaResult, VariantInfo } from "../workers/cart";
import { CartStore } from "./cart-store";
import type { ErrorCode } from "../workers/platform/error-codes";
import type { StockSnapshot } from "./stock-do";
import type { CartItem, CartMeta } from "./cart-store";

const fail = (code: ErrorCode, message: string, details?: unknown, retryAfter?: number): CartFailure => ({
  ok: false,
  code,
  message,
  details,
  ...(retryAfter === undefined ? {} : { retryAfter }),
});
const notFound = (): CartFailure => fail("CART_NOT_FOUND", "Cart was not found");
const answer = (outcome: CheckoutOutcome): BeginCheckout => ({ kind: "answer", outcome });

/**
 * How long a saga run holds the checkout before the same key may resume it: longer than any run can take (Stripe's
 * 10 s timeout with two retries, Postgres connect timeouts), so two runs of one order rarely overlap; when they do, every
 * step is idempotent by order id.
 */
const RUN_LEASE_MS = 60_000;
/** How long a repeat of a running checkout waits for its answer before CHECKOUT_IN_PROGRESS. */
const SAME_KEY_WAIT_MS = 15_000;

/** One Durable Object per cart. */
export class CartDO extends DurableObject<Env> {
  private readonly store: CartStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new CartStore(ctx.storage);
  }

  private get config(): AppConfig {
    return getConfig(this.env);
  }

  private logger(cartId: string): Logger {
    return createLogger(this.config.logLevel, { durable_object: "CartDO", cart_id: cartId });
  }

  /** The cart, checked against the id it was asked for (a merged cart is gone for its old holder). */
  private current(cartId: string): CartMeta | null {
    const meta = this.store.meta();
    if (!meta || meta.id !== cartId || meta.status === "merged") return null;
    return meta;
  }

  /** After an order, the next change starts a fresh cart in the same object (the checkout record stays for replays). */
  private reopenIfOrdered(meta: CartMeta): void {
    if (meta.status !== "ordered") return;
    this.store.clearItems();
    this.store.setCoupon(null);
    this.store.setStatus("open", null);
  }

  /**
   * When the pending alarm fires: undefined until read once, null when none is set. An alarm that fires before the
   * cart's idle time is up only reschedules itself (see alarm()), so a change needs a new alarm only when none is
   * pending; an add no longer pays for an alarm write every time.
   */
  private alarmAt: number | null | undefined = undefined;

  private async scheduleAlarm(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at);
    this.alarmAt = at;
  }

  private async touched(now: number): Promise<void> {
    this.store.touch(now);
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null) await this.scheduleAlarm(now + this.config.cart.idleSeconds * 1000);
  }

  private locked(meta: CartMeta): CartFailure | null {
    if (meta.status === "checking_out") return fail("CART_LOCKED", "A checkout of this cart is in progress", { order_id: meta.orderId });
    return null;
  }

  /** Creates the cart (idempotent for an existing one). */
  async create(cartId: string, owner: string | null): Promise<CartResult> {
    if (!this.store.meta()) {
      const now = Date.now();
      this.store.create(cartId, owner, now);
      await this.scheduleAlarm(now + this.config.cart.idleSeconds * 1000);
    }
    return this.view(cartId);
  }

  /** The cart with live availability per line; null-safe for carts that do not exist. */
  async view(cartId: string): Promise<CartResult> {
    const meta = this.current(cartId);
    if (!meta) return notFound();
    const items = meta.status === "ordered" ? [] : this.store.items();
    const stock = await this.snapshots(items.map((i) => i.sku));
    // Re-read after the awaits: the view must describe one version of the cart.
    return this.viewWith(cartId, stock);
  }

  /** Live stock of `skus` from their StockDOs, side by side; null for one that cannot answer. */
  private async snapshots(skus: string[]): Promise<Map<string, StockSnapshot | null>> {
    const snaps = await Promise.all(
      skus.map(async (sku) => {
        try {
          return await callStock(this.env, sku, (st) => st.snapshot(sku), { idempotent: true, label: "stock.snapshot", attempts: 2 });
        } catch {
          return null;
        }
      }),
    );
    return new Map(skus.map((sku, n) => [sku, snaps[n] ?? null]));
  }

  /** Renders the current cart with stock already fetched (synchronous: one version of the cart). */
  private viewWith(cartId: string, stock: Map<string, StockSnapshot | null>): CartResult {
    const fresh = this.current(cartId);
    if (!fresh) return notFound();
    const items = fresh.status === "ordered" ? [] : this.store.items();
    return { ok: true, cart: this.render(fresh, items, items.map((i) => stock.get(i.sku) ?? null)) };
  }

  private render(meta: CartMeta, items: CartItem[], stock: (StockSnapshot | null)[]): CartView {
    const lines: CartLineView[] = items.map((i, n) => {
      const s = stock[n] ?? null;
      const counted = s !== null && s.tracked && !s.backorder;
      return {
        sku: i.sku,
        title: i.title,
        slug: i.slug,
        format: i.format,
        quantity: i.qty,
        unit_price: i.unitPrice,
        line_total: i.unitPrice * i.qty,
        currency: i.currency,
        available: counted ? s.available : null,
        in_stock: i.purchasable && (s === null ? true : !counted || s.available >= i.qty),
      };
    });
    return {
      id: meta.id,
      status: meta.status === "merged" ? "open" : meta.status,
      version: meta.version,
      currency: items[0]?.currency ?? "USD",
      lines,
      item_count: lines.reduce((a, l) => a + l.quantity, 0),
      subtotal: lines.reduce((a, l) => a + l.line_total, 0),
      coupon: meta.coupon,
      expires_at: new Date(meta.touchedAt + this.config.cart.idleSeconds * 1000).toISOString(),
      order_id: meta.orderId,
    };
  }

  /** Checks a quantity against a snapshot taken just before (the caller re-validates its own state afterwards). */
  private stockAllows(sku: string, qty: number, s: StockSnapshot | null | undefined): CartFailure | null {
    if (!s) return fail("STOCK_UNAVAILABLE", "Stock could not be checked right now; retry shortly", { sku });
    if (s.tracked && !s.backorder && qty > s.available) {
      return fail("INSUFFICIENT_STOCK", `Only ${s.available} left of ${sku}`, { sku, requested: qty, available: s.available });
    }
    return null;
  }

  /** Adds `qty` of a variant (summing with an existing line), within the caps and the stock available now. */
  async addItem(cartId: string, variant: VariantInfo, qty: number): Promise<CartResult> {
    const caps = this.config.cart;
    const before = this.current(cartId);
    if (!before) return notFound();
    const lockedBefore = this.locked(before);
    if (lockedBefore) return lockedBefore;
    if (!variant.purchasable) return fail("ITEM_UNAVAILABLE", `${variant.sku} cannot be bought`, { sku: variant.sku });
    const existingQty = before.status === "ordered" ? 0 : (this.store.item(variant.sku)?.qty ?? 0);
    // One round of stock reads serves both the check and the response.
    const skus = new Set([variant.sku, ...(before.status === "ordered" ? [] : this.store.items().map((i) => i.sku))]);
    const stock = await this.snapshots([...skus]);
    const stockProblem = this.stockAllows(variant.sku, existingQty + qty, stock.get(variant.sku));
    if (stockProblem) return stockProblem;
    // Everything from here to the write is synchronous: re-check the state the await may have let change.
    const meta = this.current(cartId);
    if (!meta) return notFound();
    const locked = this.locked(meta);
    if (locked) return locked;
    this.reopenIfOrdered(meta);
    const existing = this.store.item(variant.sku);
    const items = this.store.items();
    if (items.length > 0 && items[0]?.currency !== variant.currency) return fail("MIXED_CURRENCIES", "A cart holds one currency");
    const total = (existing?.qty ?? 0) + qty;
    if (total > caps.maxLineQty) {
      return fail("QUANTITY_LIMIT", `At most ${caps.maxLineQty} of one item per cart`, { sku: variant.sku, max: caps.maxLineQty, in_cart: existing?.qty ?? 0 });
    }
    const saleMax = this.saleLimitProblem(variant.sku, total, existing?.qty ?? 0, stock.get(variant.sku));
    if (saleMax) return saleMax;
    if (!existing && items.length >= caps.maxLines) return fail("CART_FULL", `A cart holds at most ${caps.maxLines} different items`, { max: caps.maxLines });
    const now = Date.now();
    this.store.putItem(variant, total, now);
    await this.touched(now);
    return this.viewWith(cartId, stock);
  }

  /** The merchant's max per customer on a SKU, met at add-to-cart already (checkout's reserve enforces it for good). */
  private saleLimitProblem(sku: string, qty: number, inCart: number, s: StockSnapshot | null | undefined): CartFailure | null {
    const max = s?.maxPerCustomer ?? null;
    if (max === null || qty <= max) return null;
    return fail("QUANTITY_LIMIT", `At most ${max} of ${sku} per customer in this sale`, { sku, max, in_cart: inCart, reason: "max_per_customer" });
  }

  /** Sets a line's quantity (1…cap); the line must exist. */
  async setQuantity(cartId: string, sku: string, qty: number): Promise<CartResult> {
    const caps = this.config.cart;
    const before = this.current(cartId);
    if (!before) return notFound();
    const lockedBefore = this.locked(before);
    if (lockedBefore) return lockedBefore;
    if (before.status === "ordered" || !this.store.item(sku)) return fail("CART_ITEM_NOT_FOUND", `${sku} is not in the cart`, { sku });
    if (!Number.isInteger(qty) || qty < 1 || qty > caps.maxLineQty) return fail("QUANTITY_LIMIT", `Quantity must be 1 to ${caps.maxLineQty}`, { sku, max: caps.maxLineQty });
    const stock = await this.snapshots(this.store.items().map((i) => i.sku));
    const stockProblem = this.stockAllows(sku, qty, stock.get(sku)) ?? this.saleLimitProblem(sku, qty, this.store.item(sku)?.qty ?? 0, stock.get(sku));
    if (stockProblem) return stockProblem;
    const meta = this.current(cartId);
    if (!meta) return notFound();
    const locked = this.locked(meta);
    if (locked) return locked;
    if (meta.status === "ordered" || !this.store.item(sku)) return fail("CART_ITEM_NOT_FOUND", `${sku} is not in the cart`, { sku });
    this.store.setQty(sku, qty);
    await this.touched(Date.now());
    return this.viewWith(cartId, stock);
  }

  /** Removes a line. */
  async removeItem(cartId: string, sku: string): Promise<CartResult> {
    const meta = this.current(cartId);
    if (!meta) return notFound();
    const locked = this.locked(meta);
    if (locked) return locked;
    if (meta.status === "ordered" || !this.store.removeItem(sku)) return fail("CART_ITEM_NOT_FOUND", `${sku} is not in the cart`, { sku });
    await this.touched(Date.now());
    return this.view(cartId);
  }

  /** Empties the cart (and starts a fresh one after an order). */
  async clear(cartId: string): Promise<CartResult> {
    const meta = this.current(cartId);
    if (!meta) return notFound();
    const locked = this.locked(meta);
    if (locked) return locked;
    this.reopenIfOrdered(meta);
    this.store.clearItems();
    this.store.setCoupon(null);
    await this.touched(Date.now());
    return this.view(cartId);
  }

  /** Puts a coupon code in the cart's slot (resolved at checkout once promotions exist), or removes it. */
  async setCoupon(cartId: string, code: string | null): Promise<CartResult> {
    const meta = this.current(cartId);
    if (!meta) return notFound();
    const locked = this.locked(meta);
    if (locked) return locked;
    this.reopenIfOrdered(meta);
    this.store.setCoupon(code);
    await this.touched(Date.now());
    return this.view(cartId);
  }

  /** Merge, step 1 (on the guest cart): its lines, unless it is locked or gone. Nothing changes yet. */
  peekForMerge(cartId: string): { ok: true; items: (VariantInfo & { qty: number })[] } | CartFailure {
    const meta = this.current(cartId);
    if (!meta) return notFound();
    if (meta.status === "checking_out") return fail("CART_LOCKED", "The guest cart is in checkout");
    const items = meta.status === "ordered" ? [] : this.store.items();
    return { ok: true, items: items.map(({ addedAt: _addedAt, ...rest }) => rest) };
  }

  /** Merge, step 3 (on the guest cart): it now lives in `intoCartId`; the guest token stops working. */
  async finishMerge(cartId: string, intoCartId: string): Promise<void> {
    const meta = this.current(cartId);
    if (!meta || meta.status === "checking_out") return;
    this.store.clearItems();
    this.store.setStatus("merged", null);
    this.logger(cartId).info("cart_merged", { into: intoCartId });
    await this.scheduleAlarm(Date.now() + 60_000);
  }

  /**
   * Merges a guest cart into this (the user's) cart: quantities are summed and capped per line, lines beyond the
   * cart cap are dropped and reported. Recorded by source id, so a repeated merge adds nothing twice.
   */
  async merge(cartId: string, fromCartId: string): Promise<CartResult & { merged?: { added: string[]; capped: string[]; dropped: string[] } }> {
    const caps = this.config.cart;
    if (fromCartId === cartId) return this.view(cartId);
    const fromName = `cart:${fromCartId}`;
    const peek = await callCart(this.env, fromName, (from) => from.peekForMerge(fromCartId), { idempotent: true, label: "cart.peekForMerge" });
    if (!peek.ok) return { ...(await this.view(cartId)), merged: { added: [], capped: [], dropped: [] } };
    const meta = this.current(cartId);
    if (!meta) return notFound();
    const locked = this.locked(meta);
    if (locked) return locked;
    const summary = { added: [] as string[], capped: [] as string[], dropped: [] as string[] };
    if (!this.store.wasMerged(fromCartId)) {
      this.reopenIfOrdered(meta);
      const now = Date.now();
      for (const item of peek.items) {
        const existing = this.store.item(item.sku);
        const lines = this.store.items();
        if (!existing && (lines.length >= caps.maxLines || (lines[0] && lines[0].currency !== item.currency))) {
          summary.dropped.push(item.sku);
          continue;
        }
        const want = (existing?.qty ?? 0) + item.qty;
        const qty = Math.min(want, caps.maxLineQty);
        if (qty < want) summary.capped.push(item.sku);
        this.store.putItem(item, qty, now);
        summary.added.push(item.sku);
      }
      this.store.recordMerge(fromCartId, now);
      await this.touched(now);
    }
    await callCart(this.env, fromName, (from) => from.finishMerge(fromCartId, cartId), { idempotent: true, label: "cart.finishMerge" });
    const view = await this.view(cartId);
    return { ...view, merged: summary };
  }

  /**
   * Checkout, step 0 (README "Checkout saga: where it lives"): the Worker runs the saga, this object holds the lock
   * and the idempotency record. Answers run (the lock and the saga's input are persisted before any outside await,
   * under a run lease), or an answer for the shopper now: a replay of the same key, a refusal, or CHECKOUT_IN_PROGRESS
   * when the same key's run is still going after waiting for it. Never throws across the RPC boundary.
   */
  async beginCheckout(req: CheckoutRequest): Promise<BeginCheckout> {
    try {
      return await this.beginOnce(req, false);
    } catch (err) {
      this.logger(req.cartId).error("checkout_begin_failed", errorFields(err));
      return answer(fail("CHECKOUT_UNAVAILABLE", "Checkout is unavailable right now; retry shortly", null, 5));
    }
  }

  private async beginOnce(req: CheckoutRequest, waited: boolean): Promise<BeginCheckout> {
    const meta = this.current(req.cartId);
    if (!meta) return answer(notFound());
    const existing = this.store.checkout(req.idempotencyKey);
    if (existing) {
      if (existing.requestHash !== req.requestHash) return answer(fail("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request"));
      if (existing.state === "done" && existing.result) return answer({ ...(JSON.parse(existing.result) as CheckoutSuccess), replayed: true });
      const now = Date.now();
      if (existing.runUntil > now) {
        // The same request is being served right now: wait for its answer rather than run a second saga.
        if (!waited) {
          const outcome = await this.waitForFinish(req.idempotencyKey, Math.min(SAME_KEY_WAIT_MS, existing.runUntil - now));
          if (outcome) return answer(outcome.ok ? { ...outcome, replayed: true } : outcome);
          return this.beginOnce(req, true);
        }
        return answer(fail("CHECKOUT_IN_PROGRESS", "This checkout is still running; retry with the same Idempotency-Key shortly", { order_id: existing.orderId }, 2));
      }
      // No run holds it (the last one kept the lock after a fault, or its Worker died): resume the same order.
      const runId = crypto.randomUUID();
      this.store.leaseCheckout(req.idempotencyKey, runId, now + RUN_LEASE_MS);
      return { kind: "run", runId, input: JSON.parse(existing.request) as SagaInput };
    }
    if (meta.status === "checking_out") {
      const active = this.store.activeCheckout();
      const now = Date.now();
      if (active && active.runUntil <= now && now - active.createdAt > this.config.checkoutHoldSeconds * 1000) {
        // The lock's lease is over (no run, and its holds have lapsed anyway): give the old order's holds back
        // (idempotent) and let this key in.
        const stale = JSON.parse(active.request) as SagaInput;
        await this.releaseHolds(stale);
        const again = this.store.checkout(active.key);
        if (again?.state === "started" && again.runUntil <= Date.now()) {
          this.store.dropCheckout(active.key);
          this.store.setStatus("open", null);
          this.logger(req.cartId).warn("checkout_lock_taken_over", { stale_order_id: stale.orderId });
        }
        return this.beginOnce(req, waited);
      }
      return answer(fail("CART_LOCKED", "A checkout of this cart is in progress", { order_id: meta.orderId }));
    }
    if (meta.status === "ordered") return answer(fail("CART_ALREADY_ORDERED", "This cart was already ordered", { order_id: meta.orderId }));
    const items = this.store.items();
    if (items.length === 0) return answer(fail("CART_EMPTY", "The cart is empty"));
    const email = req.email;
    if (!email) return answer(fail("EMAIL_REQUIRED", "An email address is required to check out"));
    // The lock, persisted before any outside await.
    const input: SagaInput = {
      cartId: req.cartId,
      orderId: crypto.randomUUID(),
      idempotencyKey: req.idempotencyKey,
      userId: req.userId,
      email,
      shippingAddress: req.shippingAddress,
      coupon: meta.coupon,
      items: items.map((i) => ({ sku: i.sku, qty: i.qty, unitPrice: i.unitPrice })),
      traceId: req.traceId,
      customer: req.customer,
    };
    const now = Date.now();
    const runId = crypto.randomUUID();
    this.store.startCheckout({ key: req.idempotencyKey, orderId: input.orderId, requestHash: req.requestHash, request: JSON.stringify(input), createdAt: now, runId, runUntil: now + RUN_LEASE_MS });
    this.store.setStatus("checking_out", input.orderId);
    this.store.touch(now);
    return { kind: "run", runId, input };
  }

  /**
   * Checkout, last step: the saga's result. done → the answer is stored (replayed for the same key) and the cart is
   * ordered; unlock → the attempt is forgotten and the cart open again; keep → the lock stays, free for the same key to
   * resume at once. A run whose lease was taken over by a newer run changes nothing unless it succeeded (success is
   * the same order either way). Returns the answer for the shopper.
   */
  async finishCheckout(cartId: string, key: string, runId: string, result: SagaResult): Promise<CheckoutOutcome> {
    const row = this.store.checkout(key);
    const meta = this.current(cartId);
    if (!row || !meta) return result.outcome;
    if (row.state === "done" && row.result) return { ...(JSON.parse(row.result) as CheckoutSuccess), replayed: true };
    if (result.disposition === "done") {
      this.store.finishCheckout(key, JSON.stringify(result.outcome));
      this.store.setStatus("ordered", row.orderId);
      await this.touched(Date.now());
    } else if (row.runId === runId && result.disposition === "unlock") {
      this.store.dropCheckout(key);
      this.store.setStatus("open", null);
      await this.touched(Date.now());
    } else if (row.runId === runId) {
      this.store.leaseCheckout(key, null, 0);
    }
    this.notifyFinish(key, result.outcome);
    return result.outcome;
  }

  /** Requests waiting for the run of their own key, in this instance. */
  private readonly waiters = new Map<string, ((outcome: CheckoutOutcome) => void)[]>();

  private waitForFinish(key: string, ms: number): Promise<CheckoutOutcome | null> {
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      const timer = setTimeout(() => {
        const rest = (this.waiters.get(key) ?? []).filter((w) => w !== done);
        if (rest.length > 0) this.waiters.set(key, rest);
        else this.waiters.delete(key);
        resolve(null);
      }, ms);
      const done = (outcome: CheckoutOutcome): void => {
        clearTimeout(timer);
        resolve(outcome);
      };
      list.push(done);
      this.waiters.set(key, list);
    });
  }

  private notifyFinish(key: string, outcome: CheckoutOutcome): void {
    const list = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const w of list) w(outcome);
  }

  /** Releases a checkout's holds (idempotent by hold id), through the DO access layer. */
  private async releaseHolds(input: SagaInput): Promise<void> {
    await Promise.all(
      input.items.map((i) =>
        callStock(this.env, i.sku, (s) => s.release(i.sku, `${input.orderId}:${i.sku}`), { idempotent: true, label: "stock.release" }),
      ),
    );
  }

  /** Idle expiry: a cart untouched for the idle period gives back any holds and is deleted. */
  override async alarm(): Promise<void> {
    // The alarm that fired is no longer pending.
    this.alarmAt = null;
    const meta = this.store.meta();
    if (!meta) return;
    const due = meta.touchedAt + this.config.cart.idleSeconds * 1000;
    if (meta.status !== "merged" && Date.now() < due) {
      await this.scheduleAlarm(due);
      return;
    }
    const active = this.store.activeCheckout();
    if (active && active.runUntil > Date.now()) {
      // A saga is running for this cart in some Worker: let it finish first.
      await this.scheduleAlarm(active.runUntil + 1000);
      return;
    }
    if (active) await this.releaseHolds(JSON.parse(active.request) as SagaInput);
    this.logger(meta.id).info("cart_expired", { status: meta.status, released_checkout: active?.orderId ?? null });
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.alarmAt = null;
    // deleteAll drops the tables too; this instance may serve a new cart under the same name.
    this.store.init();
  }
}
