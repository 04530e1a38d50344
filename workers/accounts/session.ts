/**
 * Login sessions: a refresh token in an httpOnly, SameSite=Strict cookie (stored only as a SHA-256 hash, rotated on
 * every use), a CSRF token for the cookie-authenticated endpoints (double submit), and short-lived access JWTs.
 */
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { safeEqual } from "../platform/staff-auth";

export const REFRESH_COOKIE = "nb_refresh";
export const CSRF_COOKIE = "nb_csrf";
export const CSRF_HEADER = "x-csrf-token";
export const REFRESH_TTL_SECONDS = 7 * 24 * 3600;
const REFRESH_PATH = "/v1/auth";

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

function secureCookies(c: Context<AppEnv>): boolean {
  const env = c.get("config").environment;
  return env !== "development" && env !== "test";
}

/** Sets the refresh and CSRF cookies of a session. */
export function setSessionCookies(c: Context<AppEnv>, refreshToken: string, csrfToken: string): void {
  setCookie(c, REFRESH_COOKIE, refreshToken, {
    httpOnly: true,
    secure: secureCookies(c),
    sameSite: "Strict",
    path: REFRESH_PATH,
    maxAge: REFRESH_TTL_SECONDS,
  });
  // Readable by the site's own script, which echoes it in X-CSRF-Token; another origin can neither read it nor
  // make the browser send the header.
  setCookie(c, CSRF_COOKIE, csrfToken, { httpOnly: false, secure: secureCookies(c), sameSite: "Strict", path: "/", maxAge: REFRESH_TTL_SECONDS });
}

/** Clears both session cookies. */
export function clearSessionCookies(c: Context<AppEnv>): void {
  deleteCookie(c, REFRESH_COOKIE, { path: REFRESH_PATH, secure: secureCookies(c) });
  deleteCookie(c, CSRF_COOKIE, { path: "/", secure: secureCookies(c) });
}

/**
 * Reads the refresh cookie of a cookie-authenticated state change after checking CSRF: the X-CSRF-Token header
 * must equal the nb_csrf cookie. Throws 403 CSRF_FAILED or 401 NO_SESSION.
 */
export async function refreshTokenFromRequest(c: Context<AppEnv>): Promise<string> {
  const token = getCookie(c, REFRESH_COOKIE);
  if (!token) throw new AppError(401, "NO_SESSION", "No session cookie");
  const cookie = getCookie(c, CSRF_COOKIE) ?? "";
  const header = c.req.header(CSRF_HEADER) ?? "";
  if (cookie.length < 20 || !(await safeEqual(cookie, header))) {
    throw new AppError(403, "CSRF_FAILED", "Missing or mismatched X-CSRF-Token header");
  }
  return token;
}
