/**
 * Guest → customer: when a sign-in request carries a guest cart token, the guest cart merges into the user's cart
 * (quantities summed and capped). A failed merge never fails the sign-in: the guest cart stays as it was.
 */
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { errorFields } from "../platform/logger";
import { guestCartId, userCartId } from "./token";
import { callCart } from "../platform/do-access";

export interface MergeSummary {
  cart_id: string;
  merged: { added: string[]; capped: string[]; dropped: string[] };
}

/** Adds `cart` (the merge summary) to a successful sign-in response when a guest cart came with it. */
export async function withCartMerge<T extends object>(c: Context<AppEnv>, result: T): Promise<T | (T & { cart: MergeSummary })> {
  const user = (result as { user?: { id?: unknown } }).user;
  if (!("access_token" in result) || typeof user?.id !== "string") return result;
  const guest = await guestCartId(c);
  if (!guest) return result;
  const userId = user.id;
  try {
    const cartId = userCartId(userId);
    const name = `cart:${cartId}`;
    await callCart(c.env, name, (s) => s.create(cartId, userId), { idempotent: true, label: "cart.create" });
    // Idempotent: a merge is recorded by source cart id, so a repeat adds nothing twice.
    const merged = await callCart(c.env, name, (s) => s.merge(cartId, guest), { idempotent: true, label: "cart.merge" });
    if (!merged.ok) return result;
    return { ...result, cart: { cart_id: cartId, merged: merged.merged ?? { added: [], capped: [], dropped: [] } } };
  } catch (err) {
    c.get("log").warn("cart_merge_failed", { user_id: userId, ...errorFields(err) });
    return result;
  }
}
