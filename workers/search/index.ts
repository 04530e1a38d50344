/**
 * The search domain's public API: the search routes, what the search-index consumer needs to rebuild products'
 * documents and publish the new index version, and searches as data for server-rendered pages (the storefront).
 */
export { searchRoutes, searchAdminRoutes } from "./routes";
export { searchEngineFor } from "./engine-factory";
export { reindexProducts, bumpIndexVersion } from "./indexer";
export { publishIndexVersion } from "./index-version";
export { routerGateway } from "./router-gateway";
export { searchResults } from "./service";
export { searchQuerySchema, searchQueryCodes, MAX_PER_PAGE } from "./schemas";
export type { SearchQuery } from "./schemas";
export { searchSorts } from "./engine";
export type { SearchSort } from "./engine";
export type { SearchBody, SearchHit } from "./response-schemas";
