/** The docs domain's public API: the front door (GET /), the API reference (GET /docs) and its assets. */
export { docsRoutes } from "./routes";
