/**
 * The API reference in a real browser: Debian's chromium (driven by playwright-core) against a
 * wrangler dev server started here on the test database, with the Worker's static assets as wrangler.toml declares
 * them. The page must render Swagger UI's operations from /openapi.json, run a request from "Try it out", and do it
 * all without one request to another origin, one failed request or one CSP violation.
 *
 * Set NB_SCREENSHOT_DIR to keep a screenshot of the rendered reference (docs.png). GET / is the storefront's home
 * now (its footer links the reference): test/browser/storefront.test.ts.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import path from "node:path";
import { startTestWorker } from "../../dev/test-worker";
import type { TestWorker } from "../../dev/test-worker";
import { loadStackConfig } from "../../dev/config";
import { prepareAssets } from "../../dev/prepare-assets";
import { launchBrowser, watchedPage as watched } from "./support";
import type { Browser } from "./support";

const cfg = loadStackConfig();
let worker: TestWorker | undefined;
let origin = "";
let browser: Browser | undefined;

beforeAll(async () => {
  await prepareAssets();
  worker = await startTestWorker(cfg, cfg.testDatabase);
  origin = worker.origin;
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
});

/** A new page of this suite's browser that records what it requests and what goes wrong. */
const watchedPage = () => {
  if (!browser) throw new Error("the browser did not start");
  return watched(browser.context, origin);
};

it("GET /docs renders Swagger UI from /openapi.json, runs a request, and never leaves this origin", async () => {
  const { page, visit } = await watchedPage();
  const res = await page.goto(`${origin}/docs`, { waitUntil: "load" });
  expect(res?.status()).toBe(200);
  expect(res?.headers()["content-security-policy"]).toContain("script-src 'self'");

  // The operations are rendered: GET /v1/products is a visible operation block, and there is one block per
  // operation of the document.
  const products = page.locator(".opblock.opblock-get", { has: page.locator('[data-path="/v1/products"]') }).first();
  await products.waitFor({ state: "visible", timeout: 60_000 });
  const doc = (await (await fetch(`${origin}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
  const operations = Object.values(doc.paths).flatMap((item) => Object.keys(item).filter((k) => METHODS.has(k))).length;
  expect(await page.locator(".opblock").count()).toBe(operations);
  await expect.poll(() => page.title()).toBe("NexusBooks API reference");

  // Open it, "Try it out", "Execute": Swagger UI calls the API on this origin (connect-src 'self') and shows a 200.
  await products.locator(".opblock-summary").first().click();
  await products.getByRole("button", { name: "Try it out" }).click();
  await products.getByRole("button", { name: "Execute" }).click();
  const status = products.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ state: "visible", timeout: 30_000 });
  expect((await status.innerText()).trim()).toBe("200");

  if (process.env.NB_SCREENSHOT_DIR) {
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path: path.join(process.env.NB_SCREENSHOT_DIR, "docs.png"), fullPage: false });
  }
  await page.close();

  const paths = visit.requests.map((u) => new URL(u).pathname);
  for (const p of ["/docs", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/docs-init.js", "/docs/assets/swagger-ui.css", "/openapi.json", "/v1/products"]) {
    expect(paths, p).toContain(p);
  }
  expect(visit.problems).toEqual([]);
});
