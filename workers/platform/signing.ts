/** HMAC-SHA256 signatures for opaque values handed to clients (cart tokens, guest order tokens). */
import { BoundedMap } from "./bounded-map";
const keys = new BoundedMap<string, Promise<CryptoKey>>(16, 3_600_000);

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

function toBase64Url(bytes: ArrayBuffer): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]+$/.test(s)) return null;
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

/** `<value>.<mac>`, the MAC bound to `purpose` so a token for one thing never passes as another. */
export async function signValue(secret: string, purpose: string, value: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(`${purpose}:${value}`));
  return `${value}.${toBase64Url(mac)}`;
}

/** The value of a token made by signValue for `purpose`, or null when it is malformed or forged (constant time). */
export async function verifySignedValue(secret: string, purpose: string, token: string): Promise<string | null> {
  const dot = token.lastIndexOf(".");
  if (dot <= 0 || token.length > 512) return null;
  const value = token.slice(0, dot);
  const mac = fromBase64Url(token.slice(dot + 1));
  if (!mac) return null;
  const ok = await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, new TextEncoder().encode(`${purpose}:${value}`));
  return ok ? value : null;
}
