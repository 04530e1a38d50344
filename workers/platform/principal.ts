/**
 * Who the request acts for, as far as platform code needs to know (staff checks, audit rows). Accounts owns
 * authentication; its middleware's verdict is copied here so platform never imports accounts (the dependency points
 * from accounts to platform, never back).
 */
import type { Context } from "hono";
import type { AppEnv } from "./context";

export interface Principal {
  /** The signed-in user's id (the access token's `sub`). */
  userId: string;
  /** The user's role as the access token states it (`customer`, `vendor`, `staff`, `admin`). */
  role: string;
}

/** The request's signed-in principal, or null for an anonymous request (or one using the interim staff token). */
export function currentPrincipal(c: Context<AppEnv>): Principal | null {
  return c.get("principal") ?? null;
}

/** Whether `p` may use the staff console and admin API. */
export function isStaff(p: Principal | null): boolean {
  return p !== null && (p.role === "staff" || p.role === "admin");
}
