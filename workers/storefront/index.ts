/** The storefront domain's public API: its pages (GET /, /search, /category/{slug}, /books/{slug}) and their files. */
export { storefrontRoutes } from "./routes";
/** The shopping pages: add to cart, the cart, guest checkout, payment and the order link. */
export { shopRoutes } from "./shop-routes";
