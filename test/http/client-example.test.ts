/**
 * The typed client's example program (client/examples/shopper-flow.ts) drives the whole shopper journey against a
 * real `wrangler dev` Worker on the test database: browse → search → cart → checkout → simulated payment → paid.
 * Stripe is the local fake (dev/stripe-fake.ts), which signs and delivers its webhook to this Worker as Stripe would.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestWorker } from "../../dev/test-worker";
import type { TestWorker } from "../../dev/test-worker";
import { LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET, loadStackConfig } from "../../dev/config";
import { startStripeFake } from "../../dev/stripe-fake";
import type { StripeFake } from "../../dev/stripe-fake";
import { runShopperFlow } from "../../client/examples/shopper-flow";

const cfg = loadStackConfig();
let worker: TestWorker | undefined;
let origin = "";
let fake: StripeFake;

beforeAll(async () => {
  fake = await startStripeFake({ port: 0, secretKey: LOCAL_STRIPE_SECRET_KEY, webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET, log: () => undefined });
  worker = await startTestWorker(cfg, cfg.testDatabase, { STRIPE_API_BASE: fake.url });
  origin = worker.origin;
  fake.addWebhookUrl(`${origin}/webhooks/stripe`);
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
  await fake?.close();
});

it("the typed client's example runs the shopper journey to a paid order", async () => {
  const result = await runShopperFlow({ baseUrl: origin, headers: { "cf-connecting-ip": "198.51.100.77" }, paidTimeoutMs: 30_000 });
  expect(result.finalStatus).toBe("paid");
  expect(result.searchHits).toBeGreaterThan(0);
  expect(result.grandTotal).toBeGreaterThan(0);
  expect(result.orderNumber).toMatch(/\S/);
  expect(result.steps).toHaveLength(7);
  // The webhook the fake delivered was accepted by the Worker.
  await fake.webhooksIdle();
  expect(fake.webhookAttempts().some((a) => a.url.endsWith("/webhooks/stripe") && a.status === 200)).toBe(true);
});
