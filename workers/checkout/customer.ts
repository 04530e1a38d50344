/**
 * Who is checking out, for the caps: the account when signed in, else the guest device (the cart its signed token
 * proves), and always the client IP, so an attacker opening new guest carts still meets the per-IP caps. Keys are
 * keyed hashes: the StockDO and Postgres never store a raw IP.
 */

/** A keyed SHA-256 of `value`, 128 bits as hex: stable per secret, not reversible to the address. */
async function keyedHash(value: string, secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${secret}|${value}`));
  return [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export interface CustomerKeys {
  /** `u:<user id>` or `d:<hash of the guest cart>`. */
  customer: string;
  /** `ip:<hash of the address>`; IPv6 addresses count by their /64. */
  ip: string;
}

/** Expands an IPv6 address and keeps its first four groups (one /64, what one subscriber usually gets). */
export function ipBucket(raw: string): string {
  const ip = raw.trim().toLowerCase();
  if (!ip.includes(":")) return ip;
  const [head = "", tail = ""] = ip.split("::", 2);
  const h = head === "" ? [] : head.split(":");
  const t = ip.includes("::") ? (tail === "" ? [] : tail.split(":")) : [];
  const groups = ip.includes("::") ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t] : h;
  return groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":");
}

/** The caps' keys for a request. */
export async function customerKeys(secret: string, userId: string | null, cartId: string, clientIp: string | null): Promise<CustomerKeys> {
  const ipHash = await keyedHash(ipBucket(clientIp ?? "unknown"), `checkout-ip|${secret}`);
  if (userId) return { customer: `u:${userId}`, ip: `ip:${ipHash}` };
  const device = await keyedHash(cartId, `checkout-device|${secret}`);
  return { customer: `d:${device}`, ip: `ip:${ipHash}` };
}
