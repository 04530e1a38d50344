/**
 * What every accounts flow shares about the request it serves: the key that makes an address unique and the
 * request id + IP hash its audit rows carry. In its own file so the flows (sign-up, login, email, MFA) can all use
 * it without importing one another.
 */
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { hashIp } from "../platform/audit";
import { clientIpOrNull } from "../platform/client-ip";

/** Lowercased and trimmed: the key that makes emails unique regardless of case. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** Request id and IP hash (of the trusted client IP, see CLIENT_IP_HEADER) for audit rows. */
export async function auditCtx(c: Context<AppEnv>): Promise<{ requestId: string; ipHash: string | null }> {
  return {
    requestId: c.get("requestId"),
    ipHash: await hashIp(clientIpOrNull(c), c.get("config").cookieSecret),
  };
}
