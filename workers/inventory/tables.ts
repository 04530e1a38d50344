/**
 * Stock of record in Postgres. The StockDO of each SKU is the only writer: it sends every committed change as a
 * ledger entry (`inventory_movements`, idempotent by movement id) and `inventory` is the running sum.
 */
import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { variants } from "../catalog/tables";

export const inventory = pgTable(
  "inventory",
  {
    variantId: bigint("variant_id", { mode: "number" })
      .primaryKey()
      .references(() => variants.id, { onDelete: "cascade" }),
    sku: text("sku").notNull().unique("inventory_sku_uq"),
    onHand: integer("on_hand").notNull(),
    /** Units held by carts in checkout, as last reported by the StockDO (informational; the DO decides). */
    reserved: integer("reserved").notNull().default(0),
    /** Sequence number of the StockDO report `reserved` came from: an older report arriving late changes nothing. */
    reservedSeq: bigint("reserved_seq", { mode: "number" }).notNull().default(0),
    lowStockThreshold: integer("low_stock_threshold").notNull().default(5),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    check("inventory_on_hand_ck", sql`${t.onHand} >= 0`),
    check("inventory_reserved_ck", sql`${t.reserved} >= 0`),
  ],
);

export const movementReasons = ["initial", "restock", "sale", "return", "adjustment", "correction"] as const;
export type MovementReason = (typeof movementReasons)[number];

export const inventoryMovements = pgTable(
  "inventory_movements",
  {
    /** Chosen by the writer (the StockDO) so a redelivered entry is recognised and applied once. */
    id: uuid("id").primaryKey(),
    variantId: bigint("variant_id", { mode: "number" })
      .notNull()
      .references(() => variants.id, { onDelete: "cascade" }),
    sku: text("sku").notNull(),
    delta: integer("delta").notNull(),
    reason: text("reason").$type<MovementReason>().notNull(),
    /** What caused it: an order id, a hold id, a staff action id. */
    ref: text("ref"),
    onHandAfter: integer("on_hand_after").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    index("inventory_movements_sku_idx").on(t.sku, t.createdAt),
    check(
      "inventory_movements_reason_ck",
      sql`${t.reason} in ('initial','restock','sale','return','adjustment','correction')`,
    ),
  ],
);
