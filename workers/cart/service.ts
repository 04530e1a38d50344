/** Cart operations for the routes: resolve the cart, look the variant up, call the CartDO, map refusals to errors. */
import type { Context } from "hono";
import { sql } from "drizzle-orm";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { statusOf } from "../platform/error-codes";
import type { CartFailure, CartResult, CartView, CheckoutOutcome, CheckoutSuccess, ShippingAddress, VariantInfo } from "./types";
import { newGuestCart, requestCartId, userCartId } from "./token";
import { enforceBindingLimit, enforceLimit } from "../platform/rate-limit";
import { callCart } from "../platform/do-access";
import { clientIp, clientIpOrNull } from "../platform/client-ip";
import type { CartStub } from "../platform/do-access";
import { checkoutPolicy, customerKeys, extendHoldsForPayment, sagaPorts } from "../checkout";
import { stripeClient, stripeRefusal } from "../payments";
import type { PaymentStartedResult } from "./types";
import { runCheckout } from "./checkout-flow";

const VARIANT_TTL_SECONDS = 60;

/** Turns a CartDO refusal into the error envelope. */
export function raise(f: CartFailure): never {
  const retryAfter = f.retryAfter ?? (statusOf(f.code) === 503 ? 5 : undefined);
  throw new AppError(f.code, f.message, f.details ?? null, retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) });
}

function unwrap(r: CartResult): CartView {
  if (!r.ok) raise(r);
  return r.cart;
}

/** Calls the cart's CartDO through the DO access layer (only idempotent calls are retried). */
const onStub = <T>(c: Context<AppEnv>, cartId: string, label: string, idempotent: boolean, op: (s: CartStub) => Promise<T>): Promise<T> =>
  callCart(c.env, `cart:${cartId}`, op, { idempotent, label: `cart.${label}` });

/**
 * Runs `op` on the request's cart. A signed-in user's cart is created on first use, so "my cart" always exists.
 */
async function onCart(c: Context<AppEnv>, label: string, idempotent: boolean, op: (s: CartStub, cartId: string) => Promise<CartResult>): Promise<CartView> {
  const { cartId, userId } = await requestCartId(c);
  let result = await onStub(c, cartId, label, idempotent, (s) => op(s, cartId));
  if (!result.ok && result.code === "CART_NOT_FOUND" && userId) {
    await onStub(c, cartId, "create", true, (s) => s.create(cartId, userId));
    result = await onStub(c, cartId, label, idempotent, (s) => op(s, cartId));
  }
  return unwrap(result);
}

/** POST /carts: a new guest cart with its token, or the signed-in user's cart. */
export async function createCart(c: Context<AppEnv>): Promise<{ cart: CartView; cart_token: string | null }> {
  const userId = c.get("userId");
  if (userId) return { cart: unwrap(await onStub(c, userCartId(userId), "create", true, (s) => s.create(userCartId(userId), userId))), cart_token: null };
  const config = c.get("config");
  await enforceLimit(c, "cart-create-ip", clientIp(c), config.apiPerUserPerMinute * 10, 60, "open");
  const { cartId, token } = await newGuestCart(config.cookieSecret);
  return { cart: unwrap(await onStub(c, cartId, "create", true, (s) => s.create(cartId, null))), cart_token: token };
}

/** GET /cart. */
export const getCart = (c: Context<AppEnv>): Promise<CartView> => onCart(c, "view", true, (s, id) => s.view(id));

/**
 * The variant a shopper adds, from Redis (60 s) or the replica. The cart shows this price; checkout re-prices from the
 * primary, so a stale snapshot can never be charged.
 */
async function variantInfo(c: Context<AppEnv>, sku: string): Promise<VariantInfo> {
  const local = recentVariants.get(sku);
  if (local && local.until > Date.now()) return local.info;
  const info = await sharedVariantInfo(c, sku);
  if (recentVariants.size > 5000) recentVariants.clear();
  recentVariants.set(sku, { info, until: Date.now() + LOCAL_VARIANT_TTL_MS });
  return info;
}

/**
 * The isolate's own 10-second memo in front of Redis: a shopper adding several units in a row, or a hot SKU in a
 * sale, costs no round trip at all. Staleness is bounded and display-only (checkout re-prices from the primary).
 */
const recentVariants = new Map<string, { info: VariantInfo; until: number }>();
const LOCAL_VARIANT_TTL_MS = 10_000;

async function sharedVariantInfo(c: Context<AppEnv>, sku: string): Promise<VariantInfo> {
  const cache = c.get("cache");
  const key = cache.key(`variant:${sku}`);
  const hit = await cache.get(key);
  if (hit) return JSON.parse(hit) as VariantInfo;
  const { value } = await c.get("db").read((r) =>
    r.rows<{ info: VariantInfo }>(sql`
      select json_build_object('sku', v.sku, 'variantId', v.id, 'productId', v.product_id, 'title', p.name, 'slug', p.slug,
        'format', coalesce(v.attributes->>'format', v.name), 'unitPrice', coalesce(v.price_override, p.base_price),
        'currency', p.currency, 'purchasable', v.status = 'active' and p.status = 'active') as info
      from variants v join products p on p.id = v.product_id where v.sku = ${sku}`),
  );
  const info = value[0]?.info;
  if (!info) throw new AppError("VARIANT_NOT_FOUND", `No product has the SKU ${sku}`, { sku });
  await cache.set(key, JSON.stringify(info), VARIANT_TTL_SECONDS);
  return info;
}

/** POST /cart/items. */
export async function addItem(c: Context<AppEnv>, sku: string, quantity: number): Promise<CartView> {
  const variant = await variantInfo(c, sku);
  // Not retried: an add sums quantities, so a repeat after a lost reply would add twice.
  return onCart(c, "addItem", false, (s, id) => s.addItem(id, variant, quantity));
}

export const setQuantity = (c: Context<AppEnv>, sku: string, quantity: number): Promise<CartView> => onCart(c, "setQuantity", true, (s, id) => s.setQuantity(id, sku, quantity));
// A repeated remove answers CART_ITEM_NOT_FOUND instead of the cart: not retried.
export const removeItem = (c: Context<AppEnv>, sku: string): Promise<CartView> => onCart(c, "removeItem", false, (s, id) => s.removeItem(id, sku));
export const clearCart = (c: Context<AppEnv>): Promise<CartView> => onCart(c, "clear", true, (s, id) => s.clear(id));
export const setCoupon = (c: Context<AppEnv>, code: string | null): Promise<CartView> => onCart(c, "setCoupon", true, (s, id) => s.setCoupon(id, code));

/** Binds an Idempotency-Key to its request: the caller and the validated body. */
export async function checkoutRequestHash(userId: string | null, body: unknown): Promise<string> {
  return sha256Hex(JSON.stringify({ userId, body }));
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** POST /checkout: the CartDO locks, the saga runs here; the same Idempotency-Key always gets the same answer. */
export async function checkout(
  c: Context<AppEnv>,
  idempotencyKey: string,
  body: { email?: string | undefined; shipping_address: ShippingAddress },
): Promise<CheckoutSuccess> {
  const { cartId, userId } = await requestCartId(c);
  const ip = clientIpOrNull(c);
  const customer = await customerKeys(c.get("config").cookieSecret, userId, cartId, ip);
  // Location-local limits (no Redis round trip, so a flash-sale burst is not refused by a busy Redis); fail closed:
  // checkout is where abuse costs money.
  await enforceBindingLimit(c.env.CHECKOUT_IP_LIMITER, c.get("log"), "checkout-ip", customer.ip, 60);
  await enforceBindingLimit(c.env.CHECKOUT_CART_LIMITER, c.get("log"), "checkout-cart", cartId, 60);
  let email = body.email ?? null;
  if (userId) {
    const { value } = await c.get("db").read((r) => r.rows<{ email: string }>(sql`select email from users where id = ${userId}`), { primary: true });
    email = value[0]?.email ?? email;
  }
  const requestHash = await checkoutRequestHash(userId, body);
  const ports = sagaPorts(c.env, c.get("config"), c.get("db"), c.get("log"));
  const outcome: CheckoutOutcome = await runCheckout({ env: c.env, ports }, {
    cartId,
    idempotencyKey,
    requestHash,
    userId,
    email,
    shippingAddress: body.shipping_address,
    traceId: c.get("traceId"),
    customer,
  });
  if (!outcome.ok) raise(outcome);
  return outcome;
}

/** POST /checkout/payment-started: the cart's order keeps its stock longer while its payment is in progress. */
export async function paymentStarted(c: Context<AppEnv>, orderId: string): Promise<PaymentStartedResult> {
  const { cartId } = await requestCartId(c);
  await enforceBindingLimit(c.env.CHECKOUT_CART_LIMITER, c.get("log"), "payment-started-cart", cartId, 60);
  const policy = checkoutPolicy(c.env);
  try {
    return await extendHoldsForPayment({ db: c.get("db"), stripe: stripeClient(c.get("config")), stock: c.env.STOCK_DO, policy }, cartId, orderId);
  } catch (err) {
    // Stripe not answering (or refusing the read) is a 503/422 in the envelope, never a 500; our own errors pass through.
    throw stripeRefusal(err);
  }
}
