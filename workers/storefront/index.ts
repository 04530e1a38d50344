/** The storefront domain's public API: its pages (GET /, /search, /category/{slug}, /books/{slug}) and their files. */
export { storefrontRoutes } from "./routes";
