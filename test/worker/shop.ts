/** Shopping helpers for cart, checkout and payment tests: guest carts, checkouts, and Stripe events from the fake. */
import { expect } from "vitest";
import { env } from "cloudflare:test";
import { call, json, nextIp, sql } from "./helpers";
import { selfFetch } from "./conformance";

export const ADDRESS = { name: "Ada Lovelace", line1: "1 Infinite Loop", city: "Cupertino", region: "CA", postal_code: "95014", country: "US" };

export interface Cart {
  token: string | null;
  headers: Record<string, string>;
}

/** A new guest cart; `headers` carry its token (and a client address). */
export async function guestCart(): Promise<Cart> {
  const res = await call("/v1/carts", { method: "POST", headers: { "cf-connecting-ip": nextIp() } });
  expect(res.status).toBe(201);
  const body = await json<{ data: { cart_token: string } }>(res);
  return { token: body.data.cart_token, headers: { "x-cart-token": body.data.cart_token } };
}

/** Sends a cart request with the cart's credentials. */
export function cartCall(cart: Cart, path: string, method = "GET", body?: unknown, extra: Record<string, string> = {}): Promise<Response> {
  return call(path, {
    method,
    headers: { ...cart.headers, "cf-connecting-ip": nextIp(), ...(body !== undefined ? { "content-type": "application/json" } : {}), ...extra },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

/** Adds `quantity` of `sku` and expects success. */
export async function add(cart: Cart, sku: string, quantity = 1): Promise<void> {
  const res = await cartCall(cart, "/v1/cart/items", "POST", { sku, quantity });
  if (res.status !== 200) throw new Error(`add ${sku} failed: ${res.status} ${await res.text()}`);
}

/** POST /v1/checkout with an Idempotency-Key. */
export function checkout(cart: Cart, key: string, body: unknown = { email: "buyer@example.com", shipping_address: ADDRESS }): Promise<Response> {
  return cartCall(cart, "/v1/checkout", "POST", body, { "idempotency-key": key });
}

/**
 * The same checkout as a separate incoming request (SELF), the way concurrent shoppers arrive: `call()` runs the handler
 * inside the test's own request, where every outbound connection shares one request's limits.
 */
export function checkoutAsRequest(cart: Cart, key: string, body: unknown = { email: "buyer@example.com", shipping_address: ADDRESS }): Promise<Response> {
  return selfFetch("http://nexusbooks.test/v1/checkout", {
    method: "POST",
    headers: { ...cart.headers, "content-type": "application/json", "cf-connecting-ip": nextIp(), "idempotency-key": key },
    body: JSON.stringify(body),
  });
}

export interface CheckoutBody {
  data: {
    order: { id: string; number: string; status: string; grand_total: number; subtotal: number; tax_total: number; shipping_total: number; holds_expire_at: string };
    payment: { payment_intent_id: string; client_secret: string };
    order_token: string;
  };
}

/** The Stripe fake's base URL (the Worker's own STRIPE_API_BASE). */
export const stripeBase = (env as unknown as { STRIPE_API_BASE: string }).STRIPE_API_BASE;
const stripeAuth = { authorization: `Bearer ${(env as unknown as { STRIPE_SECRET_KEY: string }).STRIPE_SECRET_KEY}` };

/** Calls the Stripe fake's API like the SDK does (form-encoded). */
export async function stripe<T = Record<string, unknown>>(path: string, form?: Record<string, string>): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stripeBase}${path}`, {
    method: form ? "POST" : "GET",
    headers: { ...stripeAuth, ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Pays a PaymentIntent in the fake with a test card; returns the final PI status. */
export async function pay(paymentIntentId: string, card = "pm_card_visa"): Promise<string> {
  const res = await stripe<{ status?: string; error?: { payment_intent?: { status: string } } }>(`/v1/payment_intents/${paymentIntentId}/confirm`, {
    payment_method: card,
    return_url: "https://shop.example/return",
  });
  return res.body.status ?? res.body.error?.payment_intent?.status ?? `http_${res.status}`;
}

export interface StripeEvent {
  id: string;
  type: string;
  created: number;
  data: { object: { id: string; object: string; payment_intent?: string } };
}

/** Events of the fake that concern one PaymentIntent (newest first, as Stripe lists them). */
export async function eventsFor(paymentIntentId: string): Promise<StripeEvent[]> {
  const out: StripeEvent[] = [];
  let after: string | null = null;
  for (let page = 0; page < 50; page++) {
    const res: { body: { data: StripeEvent[]; has_more: boolean } } = await stripe(`/v1/events?limit=100${after ? `&starting_after=${after}` : ""}`);
    for (const e of res.body.data) {
      const o = e.data.object;
      if (o.id === paymentIntentId || o.payment_intent === paymentIntentId) out.push(e);
    }
    const last = res.body.data[res.body.data.length - 1];
    if (!res.body.has_more || !last) break;
    after = last.id;
  }
  return out;
}

const encoder = new TextEncoder();

/** A Stripe-Signature header for `payload`, computed as Stripe does (t=…,v1=HMAC-SHA256 of "t.payload"). */
export async function signStripe(payload: string, timestamp = Math.floor(Date.now() / 1000), secret = (env as unknown as { STRIPE_WEBHOOK_SECRET: string }).STRIPE_WEBHOOK_SECRET): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${payload}`));
  return `t=${timestamp},v1=${[...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Delivers one event to the Worker's webhook endpoint, signed (optionally with an old timestamp). */
export async function deliver(event: StripeEvent, opts: { timestamp?: number } = {}): Promise<Response> {
  const payload = JSON.stringify(event);
  return call("/webhooks/stripe", { method: "POST", headers: { "content-type": "application/json", "stripe-signature": await signStripe(payload, opts.timestamp) }, body: payload });
}

/** Sets a SKU's stock of record in Postgres (before its StockDO first loads it in this run). */
export async function setStock(sku: string, onHand: number): Promise<void> {
  await sql("primary", "update inventory set on_hand = $2 where sku = $1", [sku, onHand]);
}

/** The order row in Postgres. */
export async function orderRow(id: string): Promise<{ status: string; amount_paid: number; amount_refunded: number; payment_intent_id: string | null } | undefined> {
  const [row] = await sql<{ status: string; amount_paid: number; amount_refunded: number; payment_intent_id: string | null }>(
    "primary",
    "select status, amount_paid, amount_refunded, payment_intent_id from orders where id = $1",
    [id],
  );
  return row;
}
