/**
 * The Stripe client for Workers: fetch-based HTTP and SubtleCrypto signatures. Locally STRIPE_API_BASE points it at
 * the Stripe fake (dev/stripe-fake.ts); deployed environments leave it empty and talk to api.stripe.com.
 */
import Stripe from "stripe";
import type { AppConfig } from "../platform/config";

const clients = new Map<string, Stripe>();

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

/** Verifies a webhook's Stripe-Signature (HMAC-SHA256, 300 s tolerance) and returns the event, or null. */
export async function verifyStripeWebhook(config: AppConfig, payload: string, signature: string | undefined): Promise<Stripe.Event | null> {
  if (!signature) return null;
  try {
    return await stripeClient(config).webhooks.constructEventAsync(payload, signature, config.stripe.webhookSecret, 300, Stripe.createSubtleCryptoProvider());
  } catch {
    return null;
  }
}

/** True for failures worth retrying later (network, Stripe 5xx, rate limit) rather than bad requests. */
export function isTransientStripeError(err: unknown): boolean {
  if (!(err instanceof Stripe.errors.StripeError)) return true;
  return err.type === "StripeConnectionError" || err.type === "StripeAPIError" || err.type === "StripeRateLimitError" || (err.statusCode ?? 0) >= 500;
}
