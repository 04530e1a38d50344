/**
 * The Stripe client for Workers: fetch-based HTTP and SubtleCrypto signatures. Locally STRIPE_API_BASE points it at
 * the Stripe fake (dev/stripe-fake.ts); deployed environments leave it empty and talk to api.stripe.com.
 */
import Stripe from "stripe";
import type { AppConfig } from "../platform/config";
import { BoundedMap } from "../platform/bounded-map";

const clients = new BoundedMap<string, Stripe>(16, 3_600_000);

/** One client per key and endpoint per isolate. */
export function stripeClient(config: AppConfig): Stripe {
  const base = config.stripe.apiBase;
  const cacheKey = `${config.stripe.secretKey}|${base?.href ?? ""}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = new Stripe(config.stripe.secretKey, {
      httpClient: Stripe.createFetchHttpClient(),
      maxNetworkRetries: 2,
      timeout: 10_000,
      ...(base ? { host: base.hostname, port: Number(base.port || (base.protocol === "https:" ? 443 : 80)), protocol: base.protocol === "https:" ? "https" : "http" } : {}),
    });
    clients.set(cacheKey, client);
  }
  return client;
}

/** Signatures older than this, or dated further ahead than this, are refused (replay window, both directions). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** The `t=` timestamp of a Stripe-Signature header, or null when there is none (or more than one). */
function signatureTimestamp(header: string): number | null {
  const ts = header.split(",").map((p) => p.trim()).filter((p) => p.startsWith("t="));
  if (ts.length !== 1) return null;
  const t = (ts[0] ?? "").slice(2);
  return /^\d{1,12}$/.test(t) ? Number(t) : null;
}

/**
 * Verifies a webhook's Stripe-Signature (HMAC-SHA256, 300 s tolerance) and returns the event, or null. The SDK only
 * bounds a signature's age; one dated more than the tolerance into the future is refused here, so a signature leaked
 * or minted ahead of time cannot be replayed later.
 */
export async function verifyStripeWebhook(config: AppConfig, payload: string, signature: string | undefined, nowMs = Date.now()): Promise<Stripe.Event | null> {
  if (!signature) return null;
  const t = signatureTimestamp(signature);
  if (t === null || t > Math.floor(nowMs / 1000) + WEBHOOK_TOLERANCE_SECONDS) return null;
  try {
    return await stripeClient(config).webhooks.constructEventAsync(payload, signature, config.stripe.webhookSecret, WEBHOOK_TOLERANCE_SECONDS, Stripe.createSubtleCryptoProvider());
  } catch {
    return null;
  }
}

/** True for failures worth retrying later (network, Stripe 5xx, rate limit) rather than bad requests. */
export function isTransientStripeError(err: unknown): boolean {
  if (!(err instanceof Stripe.errors.StripeError)) return true;
  return err.type === "StripeConnectionError" || err.type === "StripeAPIError" || err.type === "StripeRateLimitError" || (err.statusCode ?? 0) >= 500;
}
