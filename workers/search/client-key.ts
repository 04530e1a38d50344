/** Who a search request counts against for rate limiting: the signed-in user, else the client's network. */
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { clientIp } from "../platform/client-ip";
import { ipBucket } from "./ip-bucket";

/**
 * A signed-in shopper gets a bucket of their own (a household behind one NAT does not share it); anyone else counts
 * against the network of the trusted client IP (CLIENT_IP_HEADER), and without one every caller shares "unknown".
 */
export function searchClientKey(c: Context<AppEnv>): string {
  const user = c.get("userId");
  return user ? `user:${user}` : `ip:${ipBucket(clientIp(c))}`;
}
