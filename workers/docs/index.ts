/**
 * The docs domain's public API: the API reference (GET /docs) and its assets, and the API's front-door links (the
 * JSON answer of GET /, which the storefront serves).
 */
export { docsRoutes, FRONT_DOOR } from "./routes";
export { frontDoorSchema } from "./response-schemas";
export type { FrontDoor } from "./response-schemas";
