/**
 * The typed client's example program (client/examples/shopper-flow.ts) drives the whole shopper journey against a
 * real `wrangler dev` Worker on the test database: browse → search → cart → checkout → simulated payment → paid.
 * Stripe is the local fake (dev/stripe-fake.ts), which signs and delivers its webhook to this Worker as Stripe would.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { unstable_startWorker } from "wrangler";
import { LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET, loadStackConfig, projectRoot } from "../../dev/config";
import { localWorkerVars } from "../../dev/worker-env";
import { startStripeFake } from "../../dev/stripe-fake";
import type { StripeFake } from "../../dev/stripe-fake";
import { runShopperFlow } from "../../client/examples/shopper-flow";

const cfg = loadStackConfig();
let worker: Awaited<ReturnType<typeof unstable_startWorker>>;
let origin = "";
let fake: StripeFake;

beforeAll(async () => {
  fake = await startStripeFake({ port: 0, secretKey: LOCAL_STRIPE_SECRET_KEY, webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET, log: () => undefined });
  const vars = { ...localWorkerVars(cfg, cfg.testDatabase, "test"), LOG_LEVEL: "error", STRIPE_API_BASE: fake.url };
  const envFile = path.join(mkdtempSync(path.join(tmpdir(), "nb-client-")), ".dev.vars");
  writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n"));
  worker = await unstable_startWorker({
    config: path.join(projectRoot, "wrangler.toml"),
    envFiles: [envFile],
    dev: { inspector: false, persist: false, watch: false, logLevel: "error", server: { hostname: "127.0.0.1", port: 0 } },
  });
  await worker.ready;
  origin = String(await worker.url).replace(/\/$/, "");
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
