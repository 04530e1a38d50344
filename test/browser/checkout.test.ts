/**
 * Guest checkout in a real browser: add to cart from the book page, change the quantity on /cart, check out with an
 * email and address, see tax and shipping before paying, pay with the test card at a Stripe fake started here (which
 * sends the signed webhook to the Worker), see the confirmation, and watch the order page turn to paid. Same checks
 * as storefront.test.ts on every page: no request elsewhere, no failure, no CSP violation or console error, weight
 * budget, axe-core.
 *
 * The browser, page checks and screenshots are test/browser/support.ts's; this suite adds its own Stripe fake.
 * Set NB_SCREENSHOT_DIR to keep desktop and phone screenshots of the cart and payment pages.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { startTestWorker } from "../../dev/test-worker";
import type { TestWorker } from "../../dev/test-worker";
import { LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET, loadStackConfig } from "../../dev/config";
import { LOCAL_ADMIN_TOKEN } from "../../dev/worker-env";
import { startStripeFake } from "../../dev/stripe-fake";
import type { StripeFake } from "../../dev/stripe-fake";
import { prepareAssets } from "../../dev/prepare-assets";
import { checkAccessibility, checkWeight as weigh, launchBrowser, screenshot, watchedPage as watched } from "./support";
import type { Browser, Visit } from "./support";

const cfg = loadStackConfig();
/** The Hunger Games in paperback. */
const PAPERBACK = "BK00001-PB";
let worker: TestWorker | undefined;
let fake: StripeFake | undefined;
let origin = "";
let browser: Browser | undefined;

beforeAll(async () => {
  await prepareAssets();
  fake = await startStripeFake({ port: 0, secretKey: LOCAL_STRIPE_SECRET_KEY, webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET, log: () => undefined });
  worker = await startTestWorker(cfg, cfg.testDatabase, { STRIPE_API_BASE: fake.url });
  origin = worker.origin;
  fake.addWebhookUrl(`${origin}/webhooks/stripe`);
  // The journey buys paperbacks: make sure the shared test database has some (other suites buy them too).
  const restock = await fetch(`${origin}/v1/admin/inventory/${PAPERBACK}/adjust`, {
    method: "POST",
    headers: { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, "content-type": "application/json", "idempotency-key": `browser-checkout-${crypto.randomUUID()}` },
    body: JSON.stringify({ delta: 20, reason: "restock", note: "browser checkout test" }),
  });
  if (restock.status !== 200) throw new Error(`restock answered ${restock.status}: ${await restock.text()}`);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
  await fake?.close();
});

/** A new page of this suite's browser that records what it requests and what goes wrong. */
const watchedPage = () => {
  if (!browser) throw new Error("the browser did not start");
  return watched(browser.context, origin);
};
/** The weight budget on what the page loaded from this suite's Worker. */
const checkWeight = (page: Page, visit: Visit, from: number) => weigh(page, visit, from, origin);

/** The page's checks once it has loaded: accessibility, and the private cache policy of a shopper's page. */
async function checkShopperPage(page: Page, label: string, cacheControl: string | undefined): Promise<void> {
  expect(cacheControl, `${label}: Cache-Control`).toBe("private, no-store");
  await checkAccessibility(page, label);
}

it("a guest adds two paperbacks of The Hunger Games, changes to one, checks out, pays with the test card and sees the order paid", async () => {
  const { page, visit } = await watchedPage();
  const cacheOf = new Map<string, string | undefined>();
  page.on("response", (res) => {
    if (res.request().resourceType() === "document") cacheOf.set(new URL(res.url()).pathname, res.headers()["cache-control"]);
  });

  // The restock reaches the catalog's availability asynchronously (and its cache by data version): bounded wait.
  let book = await page.goto(`${origin}/books/the-hunger-games`, { waitUntil: "load" });
  for (let i = 0; i < 40 && (await page.locator(`tr[data-sku="${PAPERBACK}"] form`).count()) === 0; i++) {
    await page.waitForTimeout(500);
    book = await page.goto(`${origin}/books/the-hunger-games`, { waitUntil: "load" });
  }
  expect(book?.status()).toBe(200);
  expect(book?.headers()["content-security-policy"]).not.toContain("unsafe-inline");
  await checkShopperPage(page, "book", book?.headers()["cache-control"]);
  const paperback = page.locator("tr.variant").filter({ has: page.getByRole("rowheader", { name: "Paperback" }) });
  await paperback.getByLabel("Quantity of Paperback").fill("2");
  await paperback.getByRole("button", { name: /^Add to cart\b.*Paperback$/ }).click();

  // Post/Redirect/Get: the add lands on the cart page.
  await page.waitForURL(`${origin}/cart`);
  await page.getByRole("heading", { level: 1, name: "Your cart" }).waitFor();
  const qty = page.getByLabel(/^Quantity of The Hunger Games/);
  expect(await qty.inputValue()).toBe("2");
  expect(await qty.getAttribute("max")).toBe("10");
  const subtotalTwo = await page.locator("dd.subtotal").innerText();
  await checkShopperPage(page, "cart", cacheOf.get("/cart"));
  await screenshot(page, "cart");
  // Keyboard: change the quantity and submit its form with Enter.
  await qty.focus();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("1");
  // The form's POST answers 303; wait for the GET /cart it leads to (the URL is /cart before and after).
  const reloaded = page.waitForResponse((r) => r.request().method() === "GET" && new URL(r.url()).pathname === "/cart");
  await page.keyboard.press("Enter");
  await reloaded;
  await page.waitForLoadState("load");
  expect(await page.getByLabel(/^Quantity of The Hunger Games/).inputValue()).toBe("1");
  const subtotalOne = await page.locator("dd.subtotal").innerText();
  expect(subtotalOne).not.toBe(subtotalTwo);

  await page.getByRole("link", { name: "Check out" }).click();
  await page.waitForURL(`${origin}/checkout`);
  await checkShopperPage(page, "checkout", cacheOf.get("/checkout"));
  await page.getByLabel("Email").fill("katniss@example.com");
  await page.getByLabel("Full name").fill("Katniss Everdeen");
  await page.getByLabel("Address", { exact: true }).fill("12 Seam Road");
  await page.getByLabel("City").fill("Cupertino");
  await page.getByLabel(/^State or region code/).fill("CA");
  await page.getByLabel("Postal code").fill("95014");
  await page.getByLabel(/^Country code/).fill("US");
  await page.getByRole("button", { name: "Continue to payment" }).click();

  // The order's summary, computed by the server, with tax and shipping, before anything is paid.
  await page.waitForURL(/\/checkout\/pay\/[0-9a-f-]{36}\?token=/);
  const payPath = new URL(page.url()).pathname;
  await page.getByRole("heading", { level: 2, name: "Order summary" }).waitFor();
  for (const cls of ["subtotal", "tax", "shipping", "grand-total"]) expect(await page.locator(`dd.${cls}`).innerText()).toMatch(/^\$\d+\.\d{2}$/);
  expect(await page.locator("dd.subtotal").innerText()).toBe(subtotalOne);
  expect(await page.locator(".order-lines").innerText()).toContain("1 × The Hunger Games (Paperback)");
  expect(await page.locator("dd.tax").innerText()).not.toBe("$0.00");
  await checkShopperPage(page, "payment", cacheOf.get(payPath));
  await screenshot(page, "payment");
  const total = await page.locator("dd.grand-total").innerText();
  await page.getByRole("button", { name: `Pay ${total} with the test card` }).click();

  // The confirmation, then the status turns to paid once the webhook is processed (the page's own poll; bounded).
  await page.waitForURL(/\/orders\/[0-9a-f-]{36}\?token=.+&placed=1$/);
  await page.getByRole("status").filter({ hasText: "Thank you!" }).waitFor();
  await checkShopperPage(page, "order", cacheOf.get(new URL(page.url()).pathname));
  await page.locator("#order-status", { hasText: "Paid" }).waitFor({ timeout: 45_000 });
  expect(await page.locator("#order-status").innerText()).toBe("Status: Paid");
  await fake?.webhooksIdle();
  expect(fake?.webhookAttempts().some((a) => a.url.endsWith("/webhooks/stripe") && a.status === 200)).toBe(true);

  await checkWeight(page, visit, 0);
  expect(visit.problems).toEqual([]);
  await page.close();
}, 120_000);
