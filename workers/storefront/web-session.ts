/**
 * A browser's identity on the storefront: its guest cart token in an httpOnly `SameSite=Lax` cookie (created on the
 * first add), and a double-submit CSRF token: a random value in its own httpOnly cookie that every state-changing form
 * repeats in a hidden field. Another site can make the browser send the cookies but cannot read either value, so it
 * cannot fill in the field.
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { safeEqual } from "../platform/staff-auth";

/** The hidden form field that carries the CSRF token. */
export const CSRF_FIELD = "csrf_token";

/** Staging and production are https: cookies are Secure and `__Host-` prefixed; development and test are plain http. */
const deployed = (c: Context<AppEnv>): boolean => {
  const env = c.get("config").environment;
  return env !== "development" && env !== "test";
};

const names = (c: Context<AppEnv>) =>
  deployed(c) ? { cart: "__Host-nb_sf_cart", csrf: "__Host-nb_sf_csrf" } : { cart: "nb_sf_cart", csrf: "nb_sf_csrf" };

const COOKIE_DAYS = 30;

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const cookieOptions = (c: Context<AppEnv>) =>
  ({ httpOnly: true, secure: deployed(c), sameSite: "Lax", path: "/", maxAge: COOKIE_DAYS * 86_400 }) as const;

/** The browser's CSRF token, minted (and its cookie set) when it has none yet. For the forms of the page being rendered. */
export function csrfToken(c: Context<AppEnv>): string {
  const existing = getCookie(c, names(c).csrf);
  if (existing && existing.length >= 32) return existing;
  const token = randomToken();
  setCookie(c, names(c).csrf, token, cookieOptions(c));
  return token;
}

/** Throws 403 CSRF_FAILED unless the form's token equals the CSRF cookie. Call before anything changes. */
export async function assertCsrf(c: Context<AppEnv>, submitted: string | undefined): Promise<void> {
  const cookie = getCookie(c, names(c).csrf) ?? "";
  if (cookie.length < 32 || !(await safeEqual(cookie, submitted ?? ""))) {
    throw new AppError("CSRF_FAILED", "The form's CSRF token is missing or does not match; reload the page and try again");
  }
}

/** Hands the cart cookie's token to the cart service for this request; false when the browser has no cart yet. */
export function useCartCookie(c: Context<AppEnv>): boolean {
  const token = getCookie(c, names(c).cart);
  if (!token) return false;
  c.set("cartToken", token);
  return true;
}

/** Remembers a new guest cart in the browser and hands its token to the cart service for the rest of the request. */
export function rememberCart(c: Context<AppEnv>, token: string): void {
  setCookie(c, names(c).cart, token, cookieOptions(c));
  c.set("cartToken", token);
}

/** Cart, checkout and order pages show one shopper's data: never stored by any cache. */
export function noStore(c: Context<AppEnv>): void {
  c.header("Cache-Control", "private, no-store");
}
