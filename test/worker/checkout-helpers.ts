/**
 * Checkout's failure paths: the Worker-side flow (workers/cart/checkout-flow.ts) run with ports built from the test
 * bindings, one of them swapped for one that fails at an exact step. Faults are real where they can be (a database
 * URL on a port nothing listens on, the real Stripe SDK over a fetch that never answers or answers Stripe's error
 * JSON, the real DO access layer over a stub that throws the runtime's overloaded/retryable errors).
 */
import { env } from "cloudflare:test";
import Stripe from "stripe";
import { getConfig } from "../../workers/platform/config";
import { DbRouter } from "../../workers/platform/db";
import { createLogger } from "../../workers/platform/logger";
import type { StockStub } from "../../workers/platform/do-access";
import { customerKeys, ordersPort, paymentsPort, sagaPorts, stockPort } from "../../workers/checkout";
import type { OrdersPort, PaymentsPort, SagaPorts, StockPort } from "../../workers/checkout";
import { runCheckout } from "../../workers/cart/checkout-flow";
import { checkoutRequestHash } from "../../workers/cart/service";
import { checkoutSchema } from "../../workers/cart/schemas";
import type { CheckoutOutcome } from "../../workers/cart/types";
import { ADDRESS, stripe, stripeBase } from "./shop";
import type { Cart } from "./shop";
import { stack } from "./helpers";

export const PRIMARY_DOWN = { DATABASE_URL: `postgres://postgres@127.0.0.1:1/${stack.database}` };
export const REDIS_DOWN = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" };

const log = createLogger("error", { test: "checkout-faults" });

export const cartIdOf = (cart: Cart): string => (cart.token ?? "").split(".")[0] ?? "";

/** A database router on the test bindings (plus overrides); end it when done. */
export function dbRouter(overrides: Partial<Record<keyof Env, string>> = {}): DbRouter {
  return new DbRouter(getConfig({ ...env, ...overrides } as Env), log);
}

/** Orders on a primary nothing listens on: every write is a real "connection refused". */
export function deadOrders(): { port: OrdersPort; db: DbRouter } {
  const db = dbRouter(PRIMARY_DOWN);
  return { port: ordersPort(db), db };
}

/**
 * Runs the checkout exactly as POST /v1/checkout does (same request hash, so an HTTP retry with the same key is the
 * same request), with `swap` replacing some of the ports.
 */
export async function checkoutWith(cart: Cart, key: string, swap: (real: SagaPorts) => Partial<SagaPorts> = () => ({})): Promise<CheckoutOutcome> {
  const cartId = cartIdOf(cart);
  const body = checkoutSchema.parse({ email: "buyer@example.com", shipping_address: ADDRESS });
  const db = dbRouter();
  try {
    const config = getConfig(env);
    const real = sagaPorts(env, config, db, log);
    const ports = { ...real, ...swap(real) };
    return await runCheckout(
      { env, ports },
      {
        cartId,
        idempotencyKey: key,
        requestHash: await checkoutRequestHash(null, body),
        userId: null,
        email: body.email ?? null,
        shippingAddress: body.shipping_address,
        traceId: null,
        customer: await customerKeys(env.COOKIE_SECRET, null, cartId, uniqueIp()),
      },
    );
  } finally {
    await db.end();
  }
}

let ipCounter = 0;
/** A fresh client address per checkout (benchmark range 198.19/16), so per-IP caps do not couple unrelated carts. */
const uniqueIp = (): string => {
  const n = ipCounter++;
  return `198.19.${(n >> 8) & 255}.${n & 255}`;
};

const secretKey = (env as unknown as { STRIPE_SECRET_KEY: string }).STRIPE_SECRET_KEY;

/** The real Stripe SDK against the fake, over `fetchFn` (which may break the conversation), without network retries. */
export function stripeOver(fetchFn: typeof fetch, timeoutMs = 10_000): PaymentsPort {
  const base = new URL(stripeBase);
  return paymentsPort(
    new Stripe(secretKey, {
      httpClient: Stripe.createFetchHttpClient(fetchFn),
      maxNetworkRetries: 0,
      timeout: timeoutMs,
      host: base.hostname,
      port: Number(base.port),
      protocol: "http",
    }),
  );
}

/** A Stripe that answers every call with `status` and Stripe's error body. */
export function stripeAnswering(status: number, error: Record<string, unknown>): { port: PaymentsPort; calls: () => number } {
  let n = 0;
  const fetchFn: typeof fetch = () => {
    n++;
    return Promise.resolve(new Response(JSON.stringify({ error }), { status, headers: { "content-type": "application/json", "request-id": `req_fake_${n}` } }));
  };
  return { port: stripeOver(fetchFn), calls: () => n };
}

/**
 * A Stripe whose requests reach the fake (so the PaymentIntent IS created) but whose replies never arrive: the SDK
 * times out after `timeoutMs`. The worst case for "no second PaymentIntent".
 */
export function stripeLosingReplies(timeoutMs = 300): PaymentsPort {
  const fetchFn: typeof fetch = async (input, init) => {
    const signal = init?.signal ?? null;
    await fetch(input, { ...init, signal: null });
    // The reply never comes: only the SDK's own timeout (its abort signal) ends the wait.
    return new Promise<Response>((_resolve, reject) => {
      signal?.addEventListener("abort", () => reject(new DOMException("The operation was aborted.", "AbortError")));
    });
  };
  return stripeOver(fetchFn, timeoutMs);
}

/** A DO error as the Workers runtime raises it, with its flags. */
export function doError(flag: "overloaded" | "retryable"): Error {
  return Object.assign(new Error(flag === "overloaded" ? "Durable Object is overloaded. Requests queued for too long." : "Network connection lost."), { [flag]: true });
}

/**
 * A stock port over the real access layer whose stubs for `sku` throw `fail(attempt)` on reserve when it returns an
 * error (before the call, or after it as a lost reply) (other calls, and other SKUs, go to the real StockDO). Counts the stubs made and the reserve attempts.
 */
export function faultyStock(
  sku: string,
  fail: (attempt: number) => Error | null,
  /** "lost-reply": the real reserve runs first and only its answer is lost (the hold exists). */
  when: "before" | "lost-reply" = "before",
): { port: StockPort; stubs: () => number; attempts: () => number } {
  let stubs = 0;
  let attempts = 0;
  const port = stockPort((s) => {
    const real = env.STOCK_DO.getByName(`sku:${s}`);
    if (s !== sku) return real;
    stubs++;
    const fake = {
      reserve: (...args: Parameters<StockStub["reserve"]>) => {
        attempts++;
        const err = fail(attempts);
        if (!err) return real.reserve(...args);
        return when === "before" ? Promise.reject(err) : real.reserve(...args).then(() => Promise.reject(err));
      },
      release: (...args: Parameters<StockStub["release"]>) => real.release(...args),
    };
    return fake as unknown as StockStub;
  });
  return { port, stubs: () => stubs, attempts: () => attempts };
}

/** PaymentIntents the fake created for `orderId` (from its event log, since `since` epoch seconds). */
export async function intentsFor(orderId: string, since: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res: { body: { data: { id: string; data: { object: { id: string; metadata?: Record<string, string> } } }[]; has_more: boolean } } = await stripe(
      `/v1/events?type=payment_intent.created&created[gte]=${since}&limit=100${after ? `&starting_after=${after}` : ""}`,
    );
    for (const e of res.body.data) if (e.data.object.metadata?.order_id === orderId) ids.push(e.data.object.id);
    const last = res.body.data[res.body.data.length - 1];
    if (!res.body.has_more || !last) break;
    after = last.id;
  }
  return ids;
}
