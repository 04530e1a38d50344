/** The catalog domain's public API: the storefront and admin routes, and the shared ISBN and price rules. */
export { catalogRoutes, catalogAdminRoutes } from "./routes";
export { toIsbn13, isValidIsbn10, isValidIsbn13, isbn10To13, isbn13To10 } from "./isbn";
export { MAX_PRICE, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, emptyQuerySchema } from "./schemas";
