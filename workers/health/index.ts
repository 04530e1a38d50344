/** The health domain's public API: liveness/readiness routes and the dev database probe. */
export { healthRoutes } from "./routes";
export { devDbRoutes } from "./dev-routes";
export { checkReadiness } from "./service";
export type { DependencyStatus, ReadinessReport } from "./service";
