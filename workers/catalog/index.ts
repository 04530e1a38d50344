/**
 * The catalog domain's public API: the storefront and admin routes, the shared ISBN and price rules, and how
 * another domain marks products changed or finds a variant by SKU (inventory's ledger, when stock moves), and
 * products and categories as data for server-rendered pages (the storefront).
 */
export { catalogRoutes, catalogAdminRoutes } from "./routes";
export { toIsbn13, isValidIsbn10, isValidIsbn13, isbn10To13, isbn13To10 } from "./isbn";
export { MAX_PRICE, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, emptyQuerySchema } from "./schemas";
export { markProductsChanged, publishProductVersions } from "./product-changes";
export type { ChangedProduct, ProductChange, ProductsChanged } from "./product-changes";
export { variantIdForSku } from "./variant-lookup";
export { productDetail, categoryTree } from "./service";
export type { CategoryNode, ProductDetail } from "./service";
