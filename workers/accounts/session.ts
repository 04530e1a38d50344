/**
 * Login sessions: a refresh token in an httpOnly, SameSite=Strict cookie (stored only as a SHA-256 hash, rotated on
 * every use), a CSRF token for the cookie-authenticated endpoints (double submit), and short-lived access JWTs.
 */
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { safeEqual } from "../platform/staff-auth";
import { signValue } from "../platform/signing";

export const CSRF_HEADER = "x-csrf-token";
export const REFRESH_TTL_SECONDS = 7 * 24 * 3600;
const REFRESH_PATH = "/v1/auth";

/**
 * Staging and production run on https: cookies are Secure and carry the `__Host-` prefix (Secure, Path=/, no Domain),
 * so a sibling subdomain cannot plant or overwrite them (cookie tossing would defeat double-submit CSRF). Development
 * and test run on plain http, where browsers refuse `__Host-` cookies, so there they keep plain names.
 */
export function deployedCookies(c: Context<AppEnv>): boolean {
  const env = c.get("config").environment;
  return env !== "development" && env !== "test";
}

/** The names of the session cookies in this environment. */
export function cookieNames(c: Context<AppEnv>): { refresh: string; csrf: string; device: string } {
  return deployedCookies(c)
    ? { refresh: "__Host-nb_refresh", csrf: "__Host-nb_csrf", device: "__Host-nb_device" }
    : { refresh: "nb_refresh", csrf: "nb_csrf", device: "nb_device" };
}

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** 32 random bytes, base64url: unguessable, so a fast hash is enough to store it. */
export function newOpaqueToken(): string {
  return b64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** SHA-256 hex of a token, the only form in which refresh tokens are stored. */
export async function hashToken(token: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The CSRF token of a session: an HMAC of its refresh family id, so it is stable across rotations (two tabs never
 * race on it) and only the server can make the one that matches a given session — an attacker-chosen pair of
 * cookie and header no longer passes.
 */
export async function csrfTokenFor(c: Context<AppEnv>, familyId: string): Promise<string> {
  const signed = await signValue(c.get("config").cookieSecret, "csrf", familyId);
  return signed.slice(signed.lastIndexOf(".") + 1);
}

/** Sets the refresh and CSRF cookies of a session. */
export function setSessionCookies(c: Context<AppEnv>, refreshToken: string, csrfToken: string): void {
  const deployed = deployedCookies(c);
  const names = cookieNames(c);
  setCookie(c, names.refresh, refreshToken, {
    httpOnly: true,
    secure: deployed,
    sameSite: "Strict",
    // `__Host-` demands Path=/; locally the narrower path keeps the cookie off every other request.
    path: deployed ? "/" : REFRESH_PATH,
    maxAge: REFRESH_TTL_SECONDS,
  });
  // Readable by the site's own script, which echoes it in X-CSRF-Token; another origin can neither read it nor
  // make the browser send the header.
  setCookie(c, names.csrf, csrfToken, { httpOnly: false, secure: deployed, sameSite: "Strict", path: "/", maxAge: REFRESH_TTL_SECONDS });
}

/** Clears both session cookies. */
export function clearSessionCookies(c: Context<AppEnv>): void {
  const deployed = deployedCookies(c);
  const names = cookieNames(c);
  deleteCookie(c, names.refresh, { path: deployed ? "/" : REFRESH_PATH, secure: deployed });
  deleteCookie(c, names.csrf, { path: "/", secure: deployed });
}

const csrfFailed = (): AppError => new AppError("CSRF_FAILED", "Missing or mismatched X-CSRF-Token header");

/**
 * Reads the refresh cookie of a cookie-authenticated state change after the double-submit check: the
 * X-CSRF-Token header must equal the CSRF cookie. The caller must then call `assertCsrfBound` with the token's
 * family before changing anything. Throws 403 CSRF_FAILED or 401 NO_SESSION.
 */
export async function refreshTokenFromRequest(c: Context<AppEnv>): Promise<string> {
  const names = cookieNames(c);
  const token = getCookie(c, names.refresh);
  if (!token) throw new AppError("NO_SESSION", "No session cookie");
  const cookie = getCookie(c, names.csrf) ?? "";
  const header = c.req.header(CSRF_HEADER) ?? "";
  if (cookie.length < 20 || !(await safeEqual(cookie, header))) throw csrfFailed();
  return token;
}

/** Throws 403 CSRF_FAILED unless the request's X-CSRF-Token is the one minted for `familyId`. */
export async function assertCsrfBound(c: Context<AppEnv>, familyId: string): Promise<void> {
  const header = c.req.header(CSRF_HEADER) ?? "";
  if (!(await safeEqual(header, await csrfTokenFor(c, familyId)))) throw csrfFailed();
}
