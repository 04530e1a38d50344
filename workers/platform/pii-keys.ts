/** The PII key ring of the current config, parsed once per secret value. */
import type { Context } from "hono";
import type { AppEnv } from "./context";
import { parsePiiKeyRing } from "./pii";
import type { PiiKeyRing } from "./pii";
import { BoundedMap } from "./bounded-map";

const rings = new BoundedMap<string, PiiKeyRing>(8, 3_600_000);

/** The key ring for PII_KEYS (first key encrypts, all decrypt). */
export function piiRing(c: Context<AppEnv>): PiiKeyRing {
  const secret = c.get("config").piiKeys;
  let ring = rings.get(secret);
  if (!ring) {
    ring = parsePiiKeyRing(secret);
    rings.set(secret, ring);
  }
  return ring;
}
