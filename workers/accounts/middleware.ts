/**
 * Authentication and role checks. `authenticate()` reads a bearer access token if one is sent (a bad one is a 401,
 * never silently anonymous) and applies the per-user API rate limit; `requireAuth()` demands one; `requireRole(...)` is the one declarative way to
 * restrict a route to roles. Object-level checks (is this order yours?) live in the services and answer 404.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import type { ErrorCode } from "../platform/errors";
import { documented } from "../platform/openapi";
import type { DocumentedMiddleware, SecurityRequirement } from "../platform/openapi";
import { verifyAccessToken } from "./jwt";
import type { AccessClaims } from "./jwt";
import { isRevoked } from "./revocation";
import { enforceLimit } from "../platform/rate-limit";
import type { Role } from "./tables";

const claimsByRequest = new WeakMap<Request, AccessClaims>();

/** The verified claims of the request's access token, or null for an anonymous request. */
export function currentClaims(req: Request): AccessClaims | null {
  return claimsByRequest.get(req) ?? null;
}

const unauthorized = (code: ErrorCode, message: string): AppError =>
  new AppError(code, message, null, { "WWW-Authenticate": 'Bearer realm="nexusbooks"' });

/** Verifies a bearer token when present. */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    // JWT-shaped bearer tokens are ours to verify; other bearer values are left to route-level credentials
    // (the interim staff token).
    const m = /^Bearer (\S+\.\S+\.\S*)$/.exec(header);
    if (m) {
      const claims = await verifyAccessToken(c.get("config").jwtKeys, m[1] as string);
      if (!claims) throw unauthorized("INVALID_TOKEN", "The access token is invalid or expired");
      // The revocation check and the per-user API limit go to Redis side by side. The limit fails open: a Redis
      // outage must not take the signed-in API down (login, sign-up and checkout have limits that fail closed).
      const [revoked] = await Promise.all([
        isRevoked(c, claims),
        enforceLimit(c, "api-user", claims.sub, c.get("config").apiPerUserPerMinute, 60, "open"),
      ]);
      if (revoked) throw unauthorized("TOKEN_REVOKED", "This session has ended; sign in again");
      claimsByRequest.set(c.req.raw, claims);
      c.set("userId", claims.sub);
    }
    await next();
  };
}

/** What the document says about a route behind requireAuth/requireRole: the bearer token it takes. */
const BEARER: readonly SecurityRequirement[] = [{ bearerAuth: [] }];
/**
 * A route that demands a token always meets `authenticate()`'s revocation check, which asks the primary when Redis
 * has no fresh answer: so DATABASE_UNAVAILABLE too (INVALID_TOKEN, TOKEN_REVOKED and RATE_LIMITED are global codes).
 */
const AUTH_ERRORS: readonly ErrorCode[] = ["AUTHENTICATION_REQUIRED", "DATABASE_UNAVAILABLE"];

/** Requires a signed-in user. */
export function requireAuth(): DocumentedMiddleware {
  return documented(
    async (c, next) => {
      if (!currentClaims(c.req.raw)) throw unauthorized("AUTHENTICATION_REQUIRED", "Sign in to do this");
      await next();
    },
    { errors: AUTH_ERRORS, security: BEARER },
  );
}

/** Requires a signed-in user with one of `roles`; others get 403 FORBIDDEN. */
export function requireRole(...roles: Role[]): DocumentedMiddleware {
  return documented(
    async (c, next) => {
      const claims = currentClaims(c.req.raw);
      if (!claims) throw unauthorized("AUTHENTICATION_REQUIRED", "Sign in to do this");
      if (!roles.includes(claims.role)) throw new AppError("FORBIDDEN", "Your role does not allow this");
      await next();
    },
    { errors: [...AUTH_ERRORS, "FORBIDDEN"], security: BEARER },
  );
}
