/** Response schemas of the inventory routes: what the document promises and the conformance tests check. */
import { z } from "zod";

/** Exact live counts from the SKU's StockDO (staff only: public responses show availability levels). */
export const stockSnapshotSchema = z
  .object({
    sku: z.string(),
    tracked: z.boolean().meta({ description: "False for untracked variants (ebooks): counts are not a limit." }),
    backorder: z.boolean().meta({ description: "Sold beyond on-hand (pre-orders): availability is not a limit." }),
    on_hand: z.number().int(),
    held: z.number().int().meta({ description: "Units held by carts at checkout and unpaid orders." }),
    available: z.number().int().meta({ description: "on_hand − held, never below 0." }),
    active_holds: z.number().int(),
    pending_ledger: z.number().int().meta({ description: "Movements not yet delivered to the inventory queue (Postgres trails by these)." }),
    max_per_customer: z.number().int().nullable().meta({ description: "The sale limit per customer; null when only the hold caps apply." }),
  })
  .meta({
    id: "StockSnapshot",
    example: { sku: "BK00007-PB", tracked: true, backorder: false, on_hand: 42, held: 3, available: 39, active_holds: 2, pending_ledger: 0, max_per_customer: null },
  });

export const stockAdjustmentSchema = z.object({
  on_hand: z.number().int().meta({ description: "On-hand units after the adjustment." }),
  available: z.number().int(),
  movement_id: z.uuid().meta({ description: "The ledger movement (and its audit row, once the inventory queue delivered it)." }),
});

export const stockBenchSchema = z.object({
  sku: z.string(),
  pairs: z.number().int().meta({ description: "Reserve/release pairs run." }),
  ms: z.number().int(),
  ops_per_second: z.number().int(),
});
