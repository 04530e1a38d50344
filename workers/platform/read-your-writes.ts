/**
 * Read-your-writes: after a request writes to the primary, the session gets a short-lived signed cookie; while it
 * is valid, that session's reads go to the primary, so it never sees its own change undone by a lagging replica.
 */
import { getCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import type { AppEnv } from "./context";
import { BoundedMap } from "./bounded-map";

export const RYW_COOKIE = "nb_ryw";
/** Longer than any replica lag we tolerate before the replica is considered unhealthy. */
export const RYW_WINDOW_SECONDS = 15;

const keys = new BoundedMap<string, Promise<CryptoKey>>(16, 3_600_000);

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}

const hex = (buf: ArrayBuffer): string => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

function unhex(s: string): Uint8Array | null {
  if (!/^(?:[0-9a-f]{2})+$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Mints the cookie value `<expiresAtMs>.<hmac>`. */
export async function signRyw(secret: string, expiresAt: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(String(expiresAt)));
  return `${expiresAt}.${hex(mac)}`;
}

/** True when the cookie is authentic (constant-time verify) and not expired. */
export async function verifyRyw(secret: string, value: string | undefined, now = Date.now()): Promise<boolean> {
  if (!value) return false;
  const m = /^(\d{13})\.([0-9a-f]{64})$/.exec(value);
  if (!m) return false;
  const expiresAt = Number(m[1]);
  if (expiresAt <= now || expiresAt > now + RYW_WINDOW_SECONDS * 1000 + 1000) return false;
  const mac = unhex(m[2] as string);
  if (!mac) return false;
  return crypto.subtle.verify("HMAC", await hmacKey(secret), mac, new TextEncoder().encode(m[1]));
}

/** Reads the session's read-your-writes state from the request. */
export async function readRyw(c: Context<AppEnv>): Promise<boolean> {
  return verifyRyw(c.get("config").cookieSecret, getCookie(c, RYW_COOKIE));
}

/** Marks the session as a recent writer. */
export async function markRyw(c: Context<AppEnv>): Promise<void> {
  const expiresAt = Date.now() + RYW_WINDOW_SECONDS * 1000;
  setCookie(c, RYW_COOKIE, await signRyw(c.get("config").cookieSecret, expiresAt), {
    httpOnly: true,
    secure: c.get("config").environment !== "development" && c.get("config").environment !== "test",
    sameSite: "Lax",
    path: "/",
    maxAge: RYW_WINDOW_SECONDS,
  });
}
