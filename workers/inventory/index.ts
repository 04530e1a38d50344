/**
 * The inventory domain's public API: the staff stock routes, the dev stock setter (StockDO owns the stock), and the
 * ledger the inventory queue consumer applies to Postgres (inventory owns `inventory` and `inventory_movements`).
 */
export { inventoryAdminRoutes, devStockRoutes } from "./routes";
export { readStock, adjustStock } from "./service";
export type { AdjustOutcome } from "./service";
export { applyMovement, applyAvailability } from "./ledger";
export type { LedgerOutcome } from "./ledger";
