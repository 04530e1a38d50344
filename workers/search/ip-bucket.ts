/** Rate-limit buckets of client addresses (kept free of Worker types so Node tests can import it). */

/**
 * The bucket of an address: IPv4 as it is, IPv6 by its /64 (one subscriber usually holds a whole /64, so counting
 * single IPv6 addresses would let one client rotate through billions of buckets).
 */
export function ipBucket(ip: string): string {
  const addr = ip.toLowerCase().replace(/^\[|\]$/g, "").split("%")[0] ?? "";
  if (!addr.includes(":")) return addr;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(addr);
  if (mapped) return mapped[1] as string;
  const [head = "", tail] = addr.split("::", 2) as [string, string | undefined];
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  if (groups.length < 4 || groups.slice(0, 4).some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return addr;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
