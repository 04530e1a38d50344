/**
 * Access tokens: HS256 JWTs (hono/jwt) with a key id, so keys rotate by adding a new first key and dropping the
 * old one after the longest token lifetime. Verification pins the algorithm (no `alg: none`, no algorithm
 * confusion), the issuer and the audience, and picks the key by `kid`.
 */
import { sign, verify, decode } from "hono/jwt";
import type { Role } from "./tables";

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
const ISSUER = "nexusbooks";
const AUDIENCE = "nexusbooks-api";

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
      typeof payload.role !== "string"
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
  return sign({ sub: userId, iat: nowSeconds, exp: nowSeconds + MFA_TOKEN_TTL_SECONDS, iss: ISSUER, aud: MFA_AUDIENCE }, jwk(key));
}

/** The user id of a valid MFA token, or null. */
export async function verifyMfaToken(keys: Key[], token: string): Promise<string | null> {
  try {
    const { header } = decode(token) as { header: { kid?: unknown; alg?: unknown } };
    const key = keys.find((k) => k.kid === header.kid);
    if (!key || header.alg !== "HS256") return null;
    const payload = (await verify(token, jwk(key), { alg: "HS256", iss: ISSUER, aud: MFA_AUDIENCE })) as { sub?: unknown };
    return typeof payload.sub === "string" ? payload.sub : null;
  } catch {
    return null;
  }
}
