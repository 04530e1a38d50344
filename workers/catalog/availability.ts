/**
 * Public availability levels. Anonymous callers see a level, never a count: exact stock tells competitors and
 * scalpers too much. Held units (carts in checkout) count as gone, as last reported by the StockDO; staff read
 * exact live counts from `GET /v1/admin/inventory/:sku`.
 */
export type AvailabilityLevel = "in_stock" | "low_stock" | "out_of_stock";

/** Used when a variant has no inventory row yet. */
export const DEFAULT_LOW_STOCK_THRESHOLD = 5;

export interface StockFacts {
  active: boolean;
  trackInventory: boolean;
  backorderAllowed: boolean;
  onHand: number | null;
  reserved: number | null;
  lowStockThreshold: number | null;
}

/** A variant's level: untracked and backorderable goods are always in stock; else free units against the threshold. */
export function availabilityLevel(f: StockFacts): AvailabilityLevel {
  if (!f.active) return "out_of_stock";
  if (!f.trackInventory || f.backorderAllowed) return "in_stock";
  const free = Math.max((f.onHand ?? 0) - (f.reserved ?? 0), 0);
  if (free === 0) return "out_of_stock";
  return free <= (f.lowStockThreshold ?? DEFAULT_LOW_STOCK_THRESHOLD) ? "low_stock" : "in_stock";
}
