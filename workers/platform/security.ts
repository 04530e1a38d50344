/** Secure headers, the CORS allowlist from config, and the request body size cap, all answering in the envelope. */
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { cors } from "hono/cors";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./context";
import { AppError } from "./errors";

/** Largest request body accepted anywhere (JSON APIs; uploads would get their own route). */
export const MAX_BODY_BYTES = 64 * 1024;

/** HSTS, nosniff, frame denial, a strict CSP for an API that serves no HTML, and no referrer leakage. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return secureHeaders({
    strictTransportSecurity: "max-age=63072000; includeSubDomains; preload",
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    crossOriginResourcePolicy: "same-site",
  });
}

const corsByOrigins = new Map<string, MiddlewareHandler<AppEnv>>();

/** CORS for the origins in CORS_ORIGINS only; other origins get no CORS headers (the browser blocks them). */
export function corsAllowlist(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const allowed = c.get("config").corsOrigins;
    const key = allowed.join(",");
    let mw = corsByOrigins.get(key);
    if (!mw) {
      mw = cors({
        origin: (origin) => (allowed.includes(origin) ? origin : null),
        allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allowHeaders: ["Content-Type", "Authorization", "Idempotency-Key", "X-Request-Id", "If-None-Match"],
        exposeHeaders: ["X-Request-Id", "X-Trace-Id", "ETag", "Retry-After"],
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
      throw new AppError(413, "PAYLOAD_TOO_LARGE", `Request body exceeds ${MAX_BODY_BYTES} bytes`, {
        max_bytes: MAX_BODY_BYTES,
      });
    },
  });
}
