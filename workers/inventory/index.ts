/** The inventory domain's public API: the staff stock routes and the dev stock setter (StockDO owns the stock). */
export { inventoryAdminRoutes, devStockRoutes } from "./routes";
