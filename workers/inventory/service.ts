/**
 * Stock services for the staff API: a ServiceContext and plain inputs in, plain data out, AppErrors for the
 * envelope. The StockDO does the work (and is the only writer); these only choose the access-layer policy and
 * translate its refusals.
 */
import type { ServiceContext } from "../platform/service-context";
import { AppError } from "../platform/errors";
import { callStock } from "../platform/do-access";
import type { StockAnswer, StockArgs } from "../platform/do-access";

type StockSnapshot = NonNullable<StockAnswer<"find">>;
type AdjustInput = StockArgs<"adjust">[1];
type AdjustResult = StockAnswer<"adjust">;

/** A SKU's live counts as the API names them (snake_case, like every other answer). */
export interface StockView {
  sku: string;
  tracked: boolean;
  backorder: boolean;
  on_hand: number;
  held: number;
  available: number;
  active_holds: number;
  pending_ledger: number;
  max_per_customer: number | null;
}

async function findStock(ctx: Pick<ServiceContext, "env">, sku: string): Promise<StockSnapshot> {
  const snap = await callStock<StockSnapshot | null>(ctx.env, sku, async (s) => await s.find(sku), { idempotent: true, label: "stock.find" });
  if (!snap) throw new AppError("VARIANT_NOT_FOUND", `No variant with SKU '${sku}'`, { sku });
  return snap;
}

/** A SKU's exact live stock; 404 VARIANT_NOT_FOUND when no variant has that SKU. */
export async function readStock(ctx: Pick<ServiceContext, "env">, sku: string): Promise<StockView> {
  const s = await findStock(ctx, sku);
  return {
    sku: s.sku,
    tracked: s.tracked,
    backorder: s.backorder,
    on_hand: s.onHand,
    held: s.held,
    available: s.available,
    active_holds: s.activeHolds,
    pending_ledger: s.pendingLedger,
    max_per_customer: s.maxPerCustomer,
  };
}

export interface AdjustOutcome {
  data: { on_hand: number; available: number; movement_id: string };
  replayed: boolean;
}

/**
 * Applies a staff adjustment once per idempotency key. Safe to retry at the access layer because the StockDO
 * remembers the key; a replay comes back with `replayed: true`.
 */
export async function adjustStock(ctx: Pick<ServiceContext, "env">, sku: string, input: AdjustInput): Promise<AdjustOutcome> {
  await findStock(ctx, sku);
  const result = await callStock<AdjustResult>(ctx.env, sku, async (s) => await s.adjust(sku, input), { idempotent: true, label: "stock.adjust" });
  if (result.ok) {
    // Named one by one: the StockDO's `ok` flag is not part of the answer.
    return { data: { on_hand: result.onHand, available: result.available, movement_id: result.movementId }, replayed: result.replayed };
  }
  switch (result.reason) {
    case "below_held":
      throw new AppError("STOCK_BELOW_HELD", "On-hand stock cannot go below the units held by checkouts", { held: result.held });
    case "key_reused":
      throw new AppError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used for a different adjustment of this SKU");
    case "invalid_note":
      throw new AppError("INVALID_NOTE", "note must be at most 200 characters without control characters");
    case "invalid_key":
      throw new AppError("IDEMPOTENCY_KEY_REQUIRED", "Send a valid Idempotency-Key header");
    case "invalid_delta":
      throw new AppError("INVALID_DELTA", "delta must be a non-zero integer");
  }
}
