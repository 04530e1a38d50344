/**
 * Which cart a request may touch. A signed-in user has one cart, `u-<user id>`; a guest proves a cart with the
 * signed token returned when it was created (`X-Cart-Token`; a header, not a cookie, so no cross-site request can
 * use it). A forged or unknown token is simply "no cart" (404), never a hint about other carts.
 */
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { signValue, verifySignedValue } from "../platform/signing";

export const CART_TOKEN_HEADER = "x-cart-token";

/** The cart id of a signed-in user. */
export const userCartId = (userId: string): string => `u-${userId}`;

/** A new guest cart id and its token. */
export async function newGuestCart(secret: string): Promise<{ cartId: string; token: string }> {
  const cartId = `g-${crypto.randomUUID()}`;
  return { cartId, token: await signValue(secret, "cart", cartId) };
}

/** The guest cart id proven by the request's token, or null. */
export async function guestCartId(c: Context<AppEnv>): Promise<string | null> {
  // A storefront page hands over the token of its cookie; an API request proves its cart with the header only.
  const token = c.get("cartToken") ?? c.req.header(CART_TOKEN_HEADER);
  if (!token) return null;
  const id = await verifySignedValue(c.get("config").cookieSecret, "cart", token);
  return id && /^g-[0-9a-f-]{36}$/.test(id) ? id : null;
}

/** The cart this request acts on: the user's own, else the guest token's; 404 when there is none. */
export async function requestCartId(c: Context<AppEnv>): Promise<{ cartId: string; userId: string | null }> {
  const userId = c.get("userId");
  if (userId) return { cartId: userCartId(userId), userId };
  const guest = await guestCartId(c);
  if (!guest) throw new AppError("CART_NOT_FOUND", "Cart was not found; create one with POST /v1/carts");
  return { cartId: guest, userId: null };
}
