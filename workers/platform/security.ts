/** Secure headers, the CORS allowlist from config, and the request body size cap, all answering in the envelope. */
import type { Context, MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { cors } from "hono/cors";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./context";
import { AppError } from "./errors";
import { BoundedMap } from "./bounded-map";

/** Largest request body accepted anywhere (JSON APIs; uploads would get their own route). */
export const MAX_BODY_BYTES = 64 * 1024;

/** The CSP of every response but the few pages that declare their own: an API that serves no HTML loads nothing. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** Policies set by `pageContentSecurityPolicy` for the running request, read by `securityHeaders` on the way out. */
const pagePolicies = new WeakMap<Context, string>();

/**
 * HSTS, nosniff, frame denial, no referrer leakage, and the strict API CSP on every response, unless the route
 * declared a page policy of its own with `pageContentSecurityPolicy` (set after the handler and the error handler
 * ran, so a response never goes out without one).
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  const base = secureHeaders({
    strictTransportSecurity: "max-age=63072000; includeSubDomains; preload",
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    crossOriginResourcePolicy: "same-site",
  });
  return async (c, next) => {
    await base(c, next);
    c.res.headers.set("Content-Security-Policy", pagePolicies.get(c) ?? API_CONTENT_SECURITY_POLICY);
  };
}

/** CSP directives by their names (`script-src` …), each with its sources. */
export type CspDirectives = Readonly<Record<string, readonly string[]>>;

/** Serialises directives as a header value (`a x y; b z`), in the order given. */
const serializeCsp = (directives: CspDirectives): string =>
  Object.entries(directives)
    .map(([name, sources]) => [name, ...sources].join(" "))
    .join("; ");

/**
 * Route middleware for the few routes that serve a page (the front door, the API reference): their responses carry
 * this policy instead of the API's `default-src 'none'`. Start from `default-src 'none'` and allow only what the
 * page loads; `frame-ancestors 'none'` is added when the policy does not say otherwise.
 */
export function pageContentSecurityPolicy(directives: CspDirectives): MiddlewareHandler<AppEnv> {
  const policy = serializeCsp({ ...directives, "frame-ancestors": directives["frame-ancestors"] ?? ["'none'"] });
  return async (c, next) => {
    pagePolicies.set(c, policy);
    await next();
  };
}

const corsByOrigins = new BoundedMap<string, MiddlewareHandler<AppEnv>>(16, 3_600_000);

/** Request headers the API reads: browsers must be allowed to send them cross-origin. */
export const CORS_ALLOW_HEADERS = [
  "Content-Type",
  "Authorization",
  "Idempotency-Key",
  "If-None-Match",
  "X-Request-Id",
  "traceparent",
  "X-Cart-Token",
  "X-CSRF-Token",
  "X-Order-Token",
];
/** Response headers a cross-origin script may read. */
export const CORS_EXPOSE_HEADERS = ["X-Request-Id", "X-Trace-Id", "ETag", "Retry-After", "Idempotent-Replayed", "Allow", "X-Served-By"];

/**
 * CORS for the origins in CORS_ORIGINS only. Any other origin (or none) gets no CORS header at all, in particular no
 * Access-Control-Allow-Credentials: credentials are only ever offered together with an allowed origin.
 */
export function corsAllowlist(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const allowed = c.get("config").corsOrigins;
    const origin = c.req.header("origin");
    if (origin === undefined || !allowed.includes(origin)) {
      c.header("Vary", "Origin", { append: true });
      // A preflight from a foreign origin is answered without CORS headers, so the browser refuses the real request.
      if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) return c.body(null, 204);
      return next();
    }
    const key = allowed.join(",");
    let mw = corsByOrigins.get(key);
    if (!mw) {
      mw = cors({
        origin: (o) => (allowed.includes(o) ? o : null),
        allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allowHeaders: CORS_ALLOW_HEADERS,
        exposeHeaders: CORS_EXPOSE_HEADERS,
        credentials: true,
        maxAge: 600,
      });
      corsByOrigins.set(key, mw);
    }
    return mw(c, next);
  };
}

/** Rejects bodies over MAX_BODY_BYTES with 413 before they are read into memory. */
export function bodySizeLimit(): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new AppError("PAYLOAD_TOO_LARGE", `Request body exceeds ${MAX_BODY_BYTES} bytes`, {
        max_bytes: MAX_BODY_BYTES,
      });
    },
  });
}
