/**
 * Access tokens: HS256 JWTs (hono/jwt) with a key id, so keys rotate by adding a new first key and dropping the
 * old one after the longest token lifetime. Verification pins the algorithm (no `alg: none`, no algorithm
 * confusion), the issuer and the audience, and picks the key by `kid`.
 */
import { sign, verify, decode } from "hono/jwt";
import { roles } from "./tables";
import type { Role } from "./tables";

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
const ISSUER = "nexusbooks";
const AUDIENCE = "nexusbooks-api";
/** Tolerated clock difference for `iat` in the future. */
const CLOCK_SKEW_SECONDS = 60;

export interface AccessClaims {
  sub: string;
  role: Role;
  /** Refresh-token family (the login session): revoking it cuts off its access tokens too. */
  sid: string;
  /** The user's token epoch when minted; "log out everywhere" raises it. */
  ep: number;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

interface Key {
  kid: string;
  secret: string;
}

const b64url = (s: string): string => btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

function jwk(key: Key) {
  // The secret string's bytes are the HMAC key; as a JWK they travel base64url-encoded.
  return { kty: "oct", k: b64url(key.secret), alg: "HS256", kid: key.kid } as const;
}

/** Signs an access token with the current (first) key. */
export async function signAccessToken(keys: Key[], claims: Pick<AccessClaims, "sub" | "role" | "sid" | "ep">, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  const key = keys[0];
  if (!key) throw new Error("no JWT signing key configured");
  const payload: AccessClaims = { ...claims, iat: nowSeconds, exp: nowSeconds + ACCESS_TOKEN_TTL_SECONDS, iss: ISSUER, aud: AUDIENCE };
  return sign({ ...payload }, jwk(key));
}

/** Verifies an access token; returns its claims or null for anything invalid, expired or signed by an unknown key. */
export async function verifyAccessToken(keys: Key[], token: string): Promise<AccessClaims | null> {
  try {
    const { header } = decode(token) as { header: { kid?: unknown; alg?: unknown } };
    const key = keys.find((k) => k.kid === header.kid);
    if (!key || header.alg !== "HS256") return null;
    const payload = (await verify(token, jwk(key), { alg: "HS256", iss: ISSUER, aud: AUDIENCE })) as Partial<AccessClaims>;
    if (
      typeof payload.sub !== "string" ||
      typeof payload.sid !== "string" ||
      typeof payload.ep !== "number" ||
      typeof payload.exp !== "number" ||
      typeof payload.iat !== "number" ||
      typeof payload.role !== "string" ||
      !(roles as readonly string[]).includes(payload.role) ||
      // A token that claims a longer life than we ever mint was not minted by us under the current policy (a leaked
      // key or an old policy): refuse it rather than honour its own exp.
      payload.exp - payload.iat > ACCESS_TOKEN_TTL_SECONDS ||
      payload.iat > Math.floor(Date.now() / 1000) + CLOCK_SKEW_SECONDS
    ) {
      return null;
    }
    return payload as AccessClaims;
  } catch {
    return null;
  }
}

const MFA_AUDIENCE = "nexusbooks-mfa";
export const MFA_TOKEN_TTL_SECONDS = 300;

/**
 * A short-lived token proving the password step of a login passed, exchanged for a session with a second factor.
 * Its own audience means it can never pass as an access token.
 */
export async function signMfaToken(keys: Key[], userId: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  const key = keys[0];
  if (!key) throw new Error("no JWT signing key configured");
  // jti: the token is single-use (mfa.ts records every presented jti).
  return sign({ sub: userId, jti: crypto.randomUUID(), iat: nowSeconds, exp: nowSeconds + MFA_TOKEN_TTL_SECONDS, iss: ISSUER, aud: MFA_AUDIENCE }, jwk(key));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The user id and token id of a valid MFA token, or null. */
export async function verifyMfaToken(keys: Key[], token: string): Promise<{ userId: string; jti: string } | null> {
  try {
    const { header } = decode(token) as { header: { kid?: unknown; alg?: unknown } };
    const key = keys.find((k) => k.kid === header.kid);
    if (!key || header.alg !== "HS256") return null;
    const payload = (await verify(token, jwk(key), { alg: "HS256", iss: ISSUER, aud: MFA_AUDIENCE })) as { sub?: unknown; jti?: unknown; iat?: unknown; exp?: unknown };
    if (typeof payload.sub !== "string" || typeof payload.jti !== "string" || !UUID.test(payload.jti)) return null;
    if (typeof payload.iat !== "number" || typeof payload.exp !== "number" || payload.exp - payload.iat > MFA_TOKEN_TTL_SECONDS) return null;
    return { userId: payload.sub, jti: payload.jti };
  } catch {
    return null;
  }
}
