/** Who a search request counts against for rate limiting: the signed-in user, else the client's network. */
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { ipBucket } from "./ip-bucket";

/**
 * The client's address as Cloudflare reports it. One small function so the platform's configurable IP trust can
 * replace it later; without the header (local tools) every caller shares one "unknown" bucket.
 */
export function clientIp(c: Context<AppEnv>): string {
  return c.req.header("cf-connecting-ip")?.trim() || "unknown";
}

/** A signed-in shopper gets a bucket of their own (a household behind one NAT does not share it). */
export function searchClientKey(c: Context<AppEnv>): string {
  const user = c.get("userId");
  return user ? `user:${user}` : `ip:${ipBucket(clientIp(c))}`;
}
