/** The Hono application: platform middleware, domain routes, and the envelope for 404/405/errors. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./platform/context";
import { AppError, errorResponse } from "./platform/errors";
import { ConfigError } from "./platform/config";
import { errorFields } from "./platform/logger";
import { requestContext } from "./platform/request-context";
import { bodySizeLimit, corsAllowlist, securityHeaders } from "./platform/security";
import { services } from "./platform/services";
import { deadLetterAdminRoutes } from "./platform/dead-letter-routes";
import { devDbRoutes, healthRoutes } from "./health";
import { catalogAdminRoutes, catalogRoutes } from "./catalog";
import { authRoutes, authenticate, currentClaims } from "./accounts";
import { devMailboxRoutes } from "./email";
import { cartRoutes } from "./cart";
import { devPaymentRoutes, orderAdminRoutes, orderRoutes } from "./orders";
import { stripeWebhookRoutes } from "./payments";
import { searchAdminRoutes, searchRoutes } from "./search";
import { devStockRoutes, inventoryAdminRoutes } from "./inventory";
import { saleLimitRoutes } from "./checkout";
import { serveDocument } from "./platform/openapi-document";
import { apiRouter } from "./platform/openapi";
import { docsRoutes } from "./docs";
import { shopRoutes, storefrontRoutes } from "./storefront";

/**
 * Hands accounts' verdict on the request's token to platform as the `principal` variable: platform (staff checks,
 * audit) reads who is signed in from there and so never imports accounts.
 */
const principalFromClaims: MiddlewareHandler<AppEnv> = async (c, next) => {
  const claims = currentClaims(c.req.raw);
  c.set("principal", claims ? { userId: claims.sub, role: claims.role } : null);
  await next();
};

/** Environments that get the /dev routes (simulators, the mailbox, bench probes). */
const DEV_ENVIRONMENTS = new Set(["development", "test"]);

/**
 * Builds the app; exported for tests that need a fresh instance. `devRoutes` adds the /dev routes: this is the one
 * place they are mounted, so in staging and production they do not exist (404 before any validation, absent from the
 * 405 table).
 */
export function createApp(options: { devRoutes: boolean } = { devRoutes: false }): OpenAPIHono<AppEnv> {
  const app = apiRouter();
  app.use(requestContext(), securityHeaders(), corsAllowlist(), bodySizeLimit(), services(), authenticate(), principalFromClaims);
  if (options.devRoutes) {
    app.route("/", devPaymentRoutes);
    app.route("/", devMailboxRoutes);
    app.route("/", devStockRoutes);
    app.route("/", devDbRoutes);
  }
  app.route("/", storefrontRoutes);
  app.route("/", shopRoutes);
  app.route("/", docsRoutes);
  app.route("/", healthRoutes);
  app.route("/v1", catalogRoutes);
  app.route("/v1", authRoutes);
  app.route("/v1", cartRoutes);
  app.route("/v1", orderRoutes);
  app.route("/v1", searchRoutes);
  app.route("/", stripeWebhookRoutes);
  app.route("/v1/admin", catalogAdminRoutes);
  app.route("/v1/admin", orderAdminRoutes);
  app.route("/v1/admin", searchAdminRoutes);
  app.route("/v1/admin", deadLetterAdminRoutes);
  app.route("/v1/admin", inventoryAdminRoutes);
  app.route("/v1/admin", saleLimitRoutes);
  serveDocument(app, options);

  const routeTable = app.routes
    .filter((r) => r.method !== "ALL")
    .map((r) => ({
      method: r.method,
      pattern: new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+").replace(/\*/g, ".*")}$`),
    }));

  app.notFound((c) => {
    const allowed = [...new Set(routeTable.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method))];
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      return errorResponse(c, "METHOD_NOT_ALLOWED", `${c.req.method} is not allowed on ${c.req.path}`, { allowed }, {
        Allow: allowed.join(", "),
      });
    }
    return errorResponse(c, "ROUTE_NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`);
  });

  app.onError((err, c) => {
    const log = c.get("log");
    if (err instanceof AppError) {
      if (err.status >= 500) log?.error("request_failed", { code: err.code, ...errorFields(err) });
      return errorResponse(c, err.code, err.message, err.details, err.headers);
    }
    if (err instanceof ConfigError) {
      console.error(JSON.stringify({ level: "error", msg: "config_invalid", request_id: c.get("requestId") ?? null, problems: err.problems }));
      // The raw variable, not the parsed config (which is what failed): only a developer's own stack sees the names.
      if (DEV_ENVIRONMENTS.has(String((c.env as { ENVIRONMENT?: unknown } | undefined)?.ENVIRONMENT))) {
        return errorResponse(c, "CONFIG_INVALID", err.message, { problems: err.problems });
      }
      return errorResponse(c, "CONFIG_INVALID", "The service is misconfigured; the request id identifies the problem in our logs");
    }
    if (err instanceof HTTPException) {
      // Hono's own refusals: a body that is not what its Content-Type says, a media type a route does not take.
      const code = err.status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : err.status === 413 ? "PAYLOAD_TOO_LARGE" : "MALFORMED_REQUEST";
      return errorResponse(c, code, err.message || undefined);
    }
    log?.error("unhandled_error", errorFields(err));
    return errorResponse(c, "INTERNAL_ERROR", "Something went wrong; the request id identifies it in our logs");
  });

  return app;
}

/** The app of deployed environments (no /dev routes); routes are compiled once per isolate. */
export const app = createApp({ devRoutes: false });
/** The app of development and test, with the /dev routes. */
export const devApp = createApp({ devRoutes: true });

/** The Worker's fetch handler: the deployed app, or the dev app where ENVIRONMENT is development or test. */
export const fetchHandler: typeof app.fetch = (request, env, ctx) =>
  (DEV_ENVIRONMENTS.has(String((env as { ENVIRONMENT?: unknown })?.ENVIRONMENT)) ? devApp : app).fetch(request, env, ctx);
