/**
 * The local Stripe fake, driven by the real `stripe` SDK (Node) so that what passes here is what the SDK accepts:
 * paths, form encoding, object shapes, error classes, idempotency and webhook signatures.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import Stripe from "stripe";
import { STRIPE_FAKE_API_VERSION, decodeStripeForm, startStripeFake } from "../../dev/stripe-fake";
import type { StripeFake } from "../../dev/stripe-fake";

const SECRET_KEY = "sk_test_stripe_fake_suite";
const WEBHOOK_SECRET = "whsec_stripe_fake_suite_0123456789";

interface Received {
  body: string;
  signature: string | undefined;
}

let fake: StripeFake;
let stripe: Stripe;
/** A second fake that delivers webhooks, to a local receiver whose first answer for each event is a 500. */
let delivering: StripeFake;
let deliveringStripe: Stripe;
let receiver: http.Server;
const received: Received[] = [];
const failedOnce = new Set<string>();

function client(port: number, key = SECRET_KEY): Stripe {
  // No retries, so a status the fake returns is the status the test sees.
  return new Stripe(key, { host: "127.0.0.1", port, protocol: "http", maxNetworkRetries: 0 });
}

async function raw(path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${fake.url}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${SECRET_KEY}`, "content-type": "application/x-www-form-urlencoded", ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

/** Runs `fn` and returns what it threw, failing the test when it did not throw. */
async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

beforeAll(async () => {
  fake = await startStripeFake({ port: 0, secretKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET, log: () => undefined });
  stripe = client(fake.port);

  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const id = (JSON.parse(body) as { id: string }).id;
      if (!failedOnce.has(id)) {
        failedOnce.add(id);
        res.writeHead(500).end("not yet");
        return;
      }
      const sig = req.headers["stripe-signature"];
      received.push({ body, signature: typeof sig === "string" ? sig : undefined });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverPort = (receiver.address() as AddressInfo).port;
  delivering = await startStripeFake({
    port: 0,
    secretKey: SECRET_KEY,
    webhookSecret: WEBHOOK_SECRET,
    webhookUrls: [`http://127.0.0.1:${receiverPort}/webhooks/stripe`],
    webhookRetryDelaysMs: [50, 50],
    log: () => undefined,
  });
  deliveringStripe = client(delivering.port);
});

afterAll(async () => {
  await fake?.close();
  await delivering?.close();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

beforeEach(() => {
  fake.reset();
});

describe("form decoding", () => {
  it("builds nested hashes and arrays from bracket notation", () => {
    expect(decodeStripeForm("amount=100&metadata[order_id]=o%201&metadata[a+b]=c&expand[]=x&expand[]=y&list[0]=p&list[1]=q&automatic_payment_methods[enabled]=true")).toEqual({
      amount: "100",
      metadata: { order_id: "o 1", "a b": "c" },
      expand: ["x", "y"],
      list: ["p", "q"],
      automatic_payment_methods: { enabled: "true" },
    });
  });
});

describe("payment intents", () => {
  it("creates and retrieves a PaymentIntent with Stripe's shape", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2599, currency: "USD", metadata: { order_id: "ord_1" }, description: "Two books", receipt_email: "a@example.com" });
    expect(pi.id).toMatch(/^pi_/);
    expect(pi).toMatchObject({
      object: "payment_intent",
      amount: 2599,
      amount_received: 0,
      currency: "usd",
      status: "requires_payment_method",
      metadata: { order_id: "ord_1" },
      description: "Two books",
      receipt_email: "a@example.com",
      livemode: false,
      latest_charge: null,
      last_payment_error: null,
      cancellation_reason: null,
      canceled_at: null,
      capture_method: "automatic_async",
      automatic_payment_methods: { enabled: true, allow_redirects: "always" },
    });
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_\\w+$`));
    expect(pi.lastResponse.requestId).toMatch(/^req_/);
    expect(pi.lastResponse.apiVersion).toBe(STRIPE_FAKE_API_VERSION);
    const again = await stripe.paymentIntents.retrieve(pi.id);
    expect(again.id).toBe(pi.id);
    expect(again.metadata).toEqual({ order_id: "ord_1" });
  });

  it("works through the SDK's fetch client, as the Worker configures it", async () => {
    const viaFetch = new Stripe(SECRET_KEY, { httpClient: Stripe.createFetchHttpClient(), host: "127.0.0.1", port: fake.port, protocol: "http", maxNetworkRetries: 0 });
    const pi = await viaFetch.paymentIntents.create({ amount: 700, currency: "gbp", metadata: { order_id: "ord_fetch" } });
    const error = await thrown(() => viaFetch.paymentIntents.confirm(pi.id, { payment_method: "pm_card_chargeDeclinedInsufficientFunds", return_url: "https://example.com/r" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect((error as Stripe.errors.StripeCardError).decline_code).toBe("insufficient_funds");
  });

  it("pins the API version stripe@23.1.0 uses", () => {
    expect(STRIPE_FAKE_API_VERSION).toBe(Stripe.API_VERSION);
  });

  it("confirms with pm_card_visa: succeeded, a charge, amount_received", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1500, currency: "eur", automatic_payment_methods: { enabled: true, allow_redirects: "never" } });
    const confirmed = await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa", expand: ["latest_charge"] });
    expect(confirmed.status).toBe("succeeded");
    expect(confirmed.amount_received).toBe(1500);
    expect(confirmed.payment_method).toMatch(/^pm_/);
    const charge = confirmed.latest_charge as Stripe.Charge;
    expect(charge.id).toMatch(/^ch_/);
    expect(charge).toMatchObject({ object: "charge", status: "succeeded", paid: true, captured: true, amount: 1500, amount_refunded: 0, payment_intent: pi.id });
    expect(charge.payment_method_details?.card?.last4).toBe("4242");
  });

  it("creates and confirms in one call when confirm=true with a payment method", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 800, currency: "usd", confirm: true, payment_method: "pm_card_mastercard", return_url: "https://example.com/done" });
    expect(pi.status).toBe("succeeded");
    expect(pi.latest_charge).toMatch(/^ch_/);
  });

  it("requires return_url when confirming with redirect-capable automatic payment methods, as Stripe does", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 800, currency: "usd" });
    const error = await thrown(() => stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((error as Stripe.errors.StripeError).message).toContain("return_url");
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("requires_payment_method");
  });

  it("declines pm_card_chargeDeclined with a 402 card_error and puts the intent back to requires_payment_method", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1200, currency: "usd", automatic_payment_methods: { enabled: true, allow_redirects: "never" } });
    for (const pm of ["pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"]) {
      const error = await thrown(() => stripe.paymentIntents.confirm(pi.id, { payment_method: pm }));
      expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
      const e = error as Stripe.errors.StripeCardError;
      expect(e.statusCode).toBe(402);
      expect(e.code).toBe("card_declined");
      expect(e.decline_code).toBe("generic_decline");
      expect(e.payment_intent?.id).toBe(pi.id);
      expect(e.payment_intent?.status).toBe("requires_payment_method");
    }
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after.status).toBe("requires_payment_method");
    expect(after.last_payment_error?.code).toBe("card_declined");
    expect(after.last_payment_error?.type).toBe("card_error");
    expect(after.amount_received).toBe(0);
    const types = fake.events().map((e) => e.type);
    expect(types).toContain("payment_intent.payment_failed");
    expect(types).toContain("charge.failed");
  });

  it("cancels with a reason, and refuses to cancel a succeeded intent", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 900, currency: "usd" });
    const canceled = await stripe.paymentIntents.cancel(pi.id, { cancellation_reason: "abandoned" });
    expect(canceled).toMatchObject({ status: "canceled", cancellation_reason: "abandoned" });
    expect(typeof canceled.canceled_at).toBe("number");

    const paid = await stripe.paymentIntents.create({ amount: 900, currency: "usd", confirm: true, payment_method: "pm_card_visa", automatic_payment_methods: { enabled: true, allow_redirects: "never" } });
    const error = await thrown(() => stripe.paymentIntents.cancel(paid.id));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((error as Stripe.errors.StripeError).code).toBe("payment_intent_unexpected_state");
    expect((error as Stripe.errors.StripeError).statusCode).toBe(400);
  });

  it("answers 404 resource_missing for an unknown intent and 404 for an unknown URL", async () => {
    const error = await thrown(() => stripe.paymentIntents.retrieve("pi_doesnotexist"));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(404);
    expect((error as Stripe.errors.StripeError).code).toBe("resource_missing");
    const res = await raw("/v1/nothing_here");
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: { type: "invalid_request_error" } });
    expect(String((res.json.error as { message: string }).message)).toContain("Unrecognized request URL (GET: /v1/nothing_here)");
  });

  it("400 parameter_missing with param when amount is missing; unknown parameters are refused", async () => {
    const error = await thrown(() => stripe.paymentIntents.create({ currency: "usd" } as Stripe.PaymentIntentCreateParams));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const e = error as Stripe.errors.StripeInvalidRequestError;
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe("parameter_missing");
    expect(e.param).toBe("amount");
    const unknown = await raw("/v1/payment_intents", { method: "POST", body: "amount=100&currency=usd&colour=red" });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ code: "parameter_unknown", param: "colour" });
  });

  it("401 with Stripe's error shape for a wrong key; Basic auth with the key as user name is accepted", async () => {
    const error = await thrown(() => client(fake.port, "sk_test_wrong_key_123456").paymentIntents.create({ amount: 100, currency: "usd" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(401);
    const none = await fetch(`${fake.url}/v1/events`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { type: "invalid_request_error" } });
    const basic = await fetch(`${fake.url}/v1/events`, { headers: { authorization: `Basic ${Buffer.from(`${SECRET_KEY}:`).toString("base64")}` } });
    expect(basic.status).toBe(200);
  });
});

describe("refunds", () => {
  async function paidIntent(amount: number): Promise<Stripe.PaymentIntent> {
    return stripe.paymentIntents.create({ amount, currency: "usd", confirm: true, payment_method: "pm_card_visa", automatic_payment_methods: { enabled: true, allow_redirects: "never" } });
  }

  it("refunds in part, then the rest, and updates the charge", async () => {
    const pi = await paidIntent(3000);
    const partial = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000, reason: "requested_by_customer" });
    expect(partial.id).toMatch(/^re_/);
    expect(partial).toMatchObject({ object: "refund", amount: 1000, status: "succeeded", payment_intent: pi.id, charge: pi.latest_charge, currency: "usd" });
    const chargeEvent = fake.events().find((e) => e.type === "charge.refunded");
    expect(chargeEvent?.data.object).toMatchObject({ id: pi.latest_charge, amount_refunded: 1000, refunded: false, payment_intent: pi.id });
    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    expect(rest.amount).toBe(2000);
    const charge = (await stripe.refunds.retrieve(rest.id, { expand: ["charge"] })).charge as Stripe.Charge;
    expect(charge).toMatchObject({ amount_refunded: 3000, refunded: true });
    const again = await thrown(() => stripe.refunds.create({ payment_intent: pi.id }));
    expect((again as Stripe.errors.StripeError).code).toBe("charge_already_refunded");
  });

  it("refuses to refund more than remains, and an intent that has not succeeded", async () => {
    const pi = await paidIntent(1000);
    const over = await thrown(() => stripe.refunds.create({ payment_intent: pi.id, amount: 1001 }));
    expect(over).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((over as Stripe.errors.StripeError).param).toBe("amount");
    const unpaid = await stripe.paymentIntents.create({ amount: 1000, currency: "usd" });
    const error = await thrown(() => stripe.refunds.create({ payment_intent: unpaid.id }));
    expect((error as Stripe.errors.StripeError).statusCode).toBe(400);
  });
});

describe("idempotency", () => {
  const body = "amount=1000&currency=usd&metadata[order_id]=ord_9";

  it("replays the first response with Idempotent-Replayed: true", async () => {
    const first = await raw("/v1/payment_intents", { method: "POST", body, headers: { "idempotency-key": "key-replay" } });
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    // Same parameters in another order are the same request.
    const second = await raw("/v1/payment_intents", { method: "POST", body: "metadata[order_id]=ord_9&currency=usd&amount=1000", headers: { "idempotency-key": "key-replay" } });
    expect(second.status).toBe(200);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.headers.get("original-request")).toBe(first.headers.get("request-id"));
    expect(second.json.id).toBe(first.json.id);
    expect(fake.events().filter((e) => e.type === "payment_intent.created")).toHaveLength(1);
    // Through the SDK too.
    const viaSdk = await stripe.paymentIntents.create({ amount: 1000, currency: "usd", metadata: { order_id: "ord_9" } }, { idempotencyKey: "key-replay" });
    expect(viaSdk.id).toBe(first.json.id);
  });

  it("replays errors saved after the endpoint began (a decline), but not validation errors", async () => {
    const declined = { amount: 500, currency: "usd", confirm: true, payment_method: "pm_card_chargeDeclined", automatic_payment_methods: { enabled: true, allow_redirects: "never" as const } };
    const a = await thrown(() => stripe.paymentIntents.create(declined, { idempotencyKey: "key-decline" }));
    const b = await thrown(() => stripe.paymentIntents.create(declined, { idempotencyKey: "key-decline" }));
    expect((b as Stripe.errors.StripeCardError).payment_intent?.id).toBe((a as Stripe.errors.StripeCardError).payment_intent?.id);
    expect((b as Stripe.errors.StripeError).headers?.["idempotent-replayed"]).toBe("true");

    const missing = await raw("/v1/payment_intents", { method: "POST", body: "currency=usd", headers: { "idempotency-key": "key-validation" } });
    expect(missing.status).toBe(400);
    const fixed = await raw("/v1/payment_intents", { method: "POST", body: "currency=usd&amount=700", headers: { "idempotency-key": "key-validation" } });
    expect(fixed.status).toBe(200);
  });

  it("refuses a key reused with other parameters or on another endpoint", async () => {
    await stripe.paymentIntents.create({ amount: 1000, currency: "usd" }, { idempotencyKey: "key-mismatch" });
    const error = await thrown(() => stripe.paymentIntents.create({ amount: 2000, currency: "usd" }, { idempotencyKey: "key-mismatch" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(400);
    expect((error as Stripe.errors.StripeError).message).toMatch(/^Keys for idempotent requests can only be used with the same parameters they were first used with\./);
    const other = await raw("/v1/refunds", { method: "POST", body: "payment_intent=pi_x", headers: { "idempotency-key": "key-mismatch" } });
    expect(other.status).toBe(400);
    expect(other.json.error).toMatchObject({ type: "idempotency_error" });
  });

  it("creates one object for concurrent requests with the same key", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => raw("/v1/payment_intents", { method: "POST", body: "amount=4200&currency=usd", headers: { "idempotency-key": "key-concurrent" } })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(new Set(results.map((r) => r.json.id)).size).toBe(1);
    expect(results.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(7);
    expect(fake.events().filter((e) => e.type === "payment_intent.created")).toHaveLength(1);
  });
});

describe("events", () => {
  it("lists newest first with type filter, limit and starting_after, in Stripe's list shape", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1000, currency: "usd", confirm: true, payment_method: "pm_card_visa", automatic_payment_methods: { enabled: true, allow_redirects: "never" } });
    await stripe.paymentIntents.create({ amount: 1100, currency: "usd" });
    const all = await stripe.events.list();
    expect(all.object).toBe("list");
    expect(all.url).toBe("/v1/events");
    expect(all.data.map((e) => e.type)).toEqual(["payment_intent.created", "payment_intent.succeeded", "charge.succeeded", "payment_intent.created"]);
    const created = await stripe.events.list({ type: "payment_intent.created", limit: 1 });
    expect(created.data).toHaveLength(1);
    expect(created.has_more).toBe(true);
    const next = await stripe.events.list({ type: "payment_intent.created", limit: 1, starting_after: created.data[0]?.id as string });
    expect(next.has_more).toBe(false);
    const succeeded = next.data[0] as Stripe.Event;
    expect((succeeded.data.object as Stripe.PaymentIntent).id).toBe(pi.id);
    const wildcard = await stripe.events.list({ type: "charge.*" });
    expect(wildcard.data.map((e) => e.type)).toEqual(["charge.succeeded"]);

    const event = await stripe.events.retrieve(succeeded.id);
    expect(event).toMatchObject({ object: "event", livemode: false, api_version: STRIPE_FAKE_API_VERSION, pending_webhooks: 0, type: "payment_intent.created" });
    expect(event.request?.id).toMatch(/^req_/);
    // The snapshot is the object as it was then (created with a payment method), not as it is now (succeeded).
    expect((event.data.object as Stripe.PaymentIntent).status).toBe("requires_confirmation");
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("succeeded");
  });
});

describe("webhooks", () => {
  it("delivers signed events that stripe.webhooks.constructEvent accepts, retrying after a failure", async () => {
    const pi = await deliveringStripe.paymentIntents.create({ amount: 1999, currency: "usd", metadata: { order_id: "ord_hook" } });
    await deliveringStripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa", return_url: "https://example.com/r" });
    await delivering.webhooksIdle();

    const types = received.map((r) => (JSON.parse(r.body) as Stripe.Event).type).sort();
    expect(types).toEqual(["charge.succeeded", "payment_intent.created", "payment_intent.succeeded"]);
    for (const r of received) {
      expect(r.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      const event = stripe.webhooks.constructEvent(r.body, r.signature as string, WEBHOOK_SECRET);
      expect(event.id).toMatch(/^evt_/);
    }
    const succeeded = received.map((r) => JSON.parse(r.body) as Stripe.Event).find((e) => e.type === "payment_intent.succeeded");
    expect((succeeded?.data.object as Stripe.PaymentIntent).metadata).toEqual({ order_id: "ord_hook" });
    // Each event failed once, then succeeded on the retry.
    const attempts = delivering.webhookAttempts();
    expect(attempts.filter((a) => a.status === 500)).toHaveLength(3);
    expect(attempts.filter((a) => a.status === 200)).toHaveLength(3);
    expect(delivering.events().every((e) => e.pending_webhooks === 0)).toBe(true);
  });

  it("a tampered payload or a wrong secret fails verification", () => {
    const r = received[0] as Received;
    const tampered = r.body.replace("\"livemode\": false", "\"livemode\": true");
    expect(tampered).not.toBe(r.body);
    expect(() => stripe.webhooks.constructEvent(tampered, r.signature as string, WEBHOOK_SECRET)).toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(() => stripe.webhooks.constructEvent(r.body, r.signature as string, "whsec_other")).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });
});
