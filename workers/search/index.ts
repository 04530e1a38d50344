/**
 * The search domain's public API: the search routes, and what the search-index consumer needs to rebuild products'
 * documents and publish the new index version.
 */
export { searchRoutes, searchAdminRoutes } from "./routes";
export { searchEngineFor } from "./engine-factory";
export { reindexProducts, bumpIndexVersion } from "./indexer";
export { publishIndexVersion } from "./index-version";
export { routerGateway } from "./router-gateway";
