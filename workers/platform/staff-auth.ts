/**
 * Staff authentication for admin routes: a signed-in user with the staff or admin role, or (interim, until staff
 * accounts are provisioned everywhere) the ADMIN_API_TOKEN secret as a bearer token, compared in constant time.
 */
import { AppError } from "./errors";
import { documented } from "./openapi";
import type { DocumentedMiddleware } from "./openapi";
import { currentPrincipal, isStaff } from "./principal";

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
}

/** Constant-time equality of two strings (compares fixed-length digests). */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] as number) ^ (y[i] as number);
  return diff === 0;
}

/**
 * Requires a staff/admin access token or `Authorization: Bearer <ADMIN_API_TOKEN>`; 401/403 in the envelope otherwise.
 * Documented: every route that uses it lists UNAUTHORIZED and FORBIDDEN and the `staffAuth` scheme.
 */
export function requireStaff(): DocumentedMiddleware {
  return documented(async (c, next) => {
    const principal = currentPrincipal(c);
    if (principal) {
      if (!isStaff(principal)) throw new AppError("FORBIDDEN", "Your role does not allow this");
      await next();
      return;
    }
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer (\S+)$/.exec(header);
    if (!m || !(await safeEqual(m[1] as string, c.get("config").adminApiToken))) {
      throw new AppError("UNAUTHORIZED", "Staff credentials are required", null, { "WWW-Authenticate": "Bearer" });
    }
    c.set("userId", "staff:admin-token");
    await next();
  }, { errors: ["UNAUTHORIZED", "FORBIDDEN"], security: [{ staffAuth: [] }] });
}
