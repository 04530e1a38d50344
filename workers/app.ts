/** The Hono application: platform middleware, domain routes, and the envelope for 404/405/errors. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./platform/context";
import { AppError, errorResponse } from "./platform/errors";
import { ConfigError } from "./platform/config";
import { errorFields } from "./platform/logger";
import { requestContext } from "./platform/request-context";
import { bodySizeLimit, corsAllowlist, securityHeaders } from "./platform/security";
import { services } from "./platform/services";
import { healthRoutes } from "./health/routes";
import { catalogAdminRoutes, catalogRoutes } from "./catalog/routes";
import { authRoutes } from "./accounts/routes";
import { authenticate } from "./accounts/middleware";
import { devMailboxRoutes } from "./email/dev-routes";
import { cartRoutes } from "./cart/routes";
import { devPaymentRoutes, orderAdminRoutes, orderRoutes } from "./orders/routes";
import { stripeWebhookRoutes } from "./payments/webhook-routes";
import { deadLetterAdminRoutes } from "./platform/dead-letter-routes";
import { searchAdminRoutes, searchRoutes } from "./search/routes";
import { devStockRoutes, inventoryAdminRoutes } from "./inventory/routes";
import { saleLimitRoutes } from "./checkout/sale-limit-routes";
import { devDbRoutes } from "./health/dev-routes";

/** Builds the app; exported for tests that need a fresh instance. */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestContext(), securityHeaders(), corsAllowlist(), bodySizeLimit(), services(), authenticate());
  app.route("/", healthRoutes);
  app.route("/v1", catalogRoutes);
  app.route("/v1", authRoutes);
  app.route("/v1", cartRoutes);
  app.route("/v1", orderRoutes);
  app.route("/v1", searchRoutes);
  app.route("/", stripeWebhookRoutes);
  app.route("/", devPaymentRoutes);
  app.route("/", devMailboxRoutes);
  app.route("/", devStockRoutes);
  app.route("/", devDbRoutes);
  app.route("/v1/admin", catalogAdminRoutes);
  app.route("/v1/admin", orderAdminRoutes);
  app.route("/v1/admin", searchAdminRoutes);
  app.route("/v1/admin", deadLetterAdminRoutes);
  app.route("/v1/admin", inventoryAdminRoutes);
  app.route("/v1/admin", saleLimitRoutes);

  const routeTable = app.routes
    .filter((r) => r.method !== "ALL")
    .map((r) => ({
      method: r.method,
      pattern: new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+").replace(/\*/g, ".*")}/?$`),
    }));

  app.notFound((c) => {
    const allowed = [...new Set(routeTable.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method))];
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      return errorResponse(c, 405, "METHOD_NOT_ALLOWED", `${c.req.method} is not allowed on ${c.req.path}`, { allowed }, {
        Allow: allowed.join(", "),
      });
    }
    return errorResponse(c, 404, "ROUTE_NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`);
  });

  app.onError((err, c) => {
    const log = c.get("log");
    if (err instanceof AppError) {
      if (err.status >= 500) log?.error("request_failed", { code: err.code, ...errorFields(err) });
      return errorResponse(c, err.status, err.code, err.message, err.details, err.headers);
    }
    if (err instanceof ConfigError) {
      console.error(JSON.stringify({ level: "error", msg: "config_invalid", problems: err.problems }));
      return errorResponse(c, 500, "CONFIG_INVALID", err.message, { problems: err.problems });
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 400 ? "MALFORMED_REQUEST" : status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "HTTP_ERROR";
      return errorResponse(c, status, code, err.message || "Bad request");
    }
    log?.error("unhandled_error", errorFields(err));
    return errorResponse(c, 500, "INTERNAL_ERROR", "Something went wrong; the request id identifies it in our logs");
  });

  return app;
}

/** The app every invocation uses (routes are compiled once per isolate). */
export const app = createApp();
