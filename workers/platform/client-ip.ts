/**
 * The client's IP address, from the one header the deployment says it can trust (CLIENT_IP_HEADER).
 * On Cloudflare, `CF-Connecting-IP` is set by Cloudflare itself and cannot be forged; anywhere else it is just a
 * header the client may send, so a deployment that is not behind Cloudflare must name its own proxy's header or
 * `none`. Per-IP rate limits and audit IP hashes key on this value.
 */
import type { Context } from "hono";
import type { AppEnv } from "./context";

/** Every request whose address cannot be trusted or parsed shares this identity (and so its limits). */
export const UNKNOWN_CLIENT_IP = "unknown";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]{2,45}$/i;

/** Normalises one address; anything that is not an IPv4/IPv6 literal is not an address. */
function parseIp(raw: string): string | null {
  const s = raw.trim();
  if (IPV4.test(s)) return s;
  if (IPV6.test(s) && s.includes(":")) return s.toLowerCase();
  return null;
}

/**
 * Extracts the client address from `headers` by the configured source. For `x-forwarded-for` the last entry is used:
 * it is the one the trusted proxy appended; earlier entries are whatever the client wrote.
 */
export function clientIpFrom(headers: Headers, source: string | null): string {
  if (source === null) return UNKNOWN_CLIENT_IP;
  const raw = headers.get(source);
  if (!raw) return UNKNOWN_CLIENT_IP;
  const value = source === "x-forwarded-for" ? (raw.split(",").pop() ?? "") : raw;
  return parseIp(value) ?? UNKNOWN_CLIENT_IP;
}

/** The request's client IP as the deployment trusts it (see CLIENT_IP_HEADER), or `unknown`. */
export function clientIp(c: Context<AppEnv>): string {
  return clientIpFrom(c.req.raw.headers, c.get("config").clientIpHeader);
}

/** Like clientIp, but null when unknown (for audit rows, where "unknown" should not be hashed as an address). */
export function clientIpOrNull(c: Context<AppEnv>): string | null {
  const ip = clientIp(c);
  return ip === UNKNOWN_CLIENT_IP ? null : ip;
}
