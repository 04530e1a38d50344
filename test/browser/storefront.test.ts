/**
 * The storefront in a real browser (Debian's chromium, driven by playwright-core) against a wrangler dev server
 * started here on the test database: a guest's journey from the home page through the autocomplete and the search
 * facets to a book, without one request to another origin, one failed request, one CSP violation or console error,
 * within the page-weight budget (HTML ≤ 60 KB, JS ≤ 40 KB gzipped) and with no serious or critical axe-core
 * violation on every page visited.
 *
 * Set NB_SCREENSHOT_DIR to keep desktop and phone screenshots of the home, search and book pages.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { startTestWorker } from "../../dev/test-worker";
import type { TestWorker } from "../../dev/test-worker";
import { loadStackConfig } from "../../dev/config";
import { prepareAssets } from "../../dev/prepare-assets";
import { checkAccessibility, checkWeight as weigh, launchBrowser, screenshot, watchedPage as watched } from "./support";
import type { Browser, Visit } from "./support";

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
/** The weight budget on what the page loaded from this suite's Worker. */
const checkWeight = (page: Page, visit: Visit, from: number) => weigh(page, visit, from, origin);

it("a guest searches from the home page with the autocomplete, filters to paperback and opens The Hunger Games", async () => {
  const { page, visit } = await watchedPage();
  const res = await page.goto(`${origin}/`, { waitUntil: "load" });
  expect(res?.status()).toBe(200);
  const csp = res?.headers()["content-security-policy"] ?? "";
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain("unsafe-inline");
  expect(res?.headers()["etag"]).toBeTruthy();
  expect(res?.headers()["cache-control"]).toMatch(/^public/);
  await page.getByRole("heading", { level: 2, name: "Most read" }).waitFor({ state: "visible" });
  await page.getByRole("heading", { level: 2, name: "Browse by category" }).waitFor({ state: "visible" });
  // The API's links live on in the footer.
  const resources = page.getByRole("navigation", { name: "Resources" });
  expect(await resources.getByRole("link", { name: "API reference" }).getAttribute("href")).toBe("/docs");
  expect(await resources.getByRole("link", { name: "OpenAPI 3.1 document" }).getAttribute("href")).toBe("/openapi.json");
  // The stylesheet applied (no inline style is allowed, so this can only come from the static asset).
  expect(await page.evaluate('getComputedStyle(document.querySelector(".site-header")).borderBottomStyle')).toBe("solid");
  await checkAccessibility(page, "home");
  await screenshot(page, "home");

  // The autocomplete: a combobox whose listbox opens with options, navigable with the keyboard.
  const box = page.getByRole("combobox", { name: "Search books" });
  expect(await box.getAttribute("aria-expanded")).toBe("false");
  await box.click();
  await box.pressSequentially("hunger", { delay: 30 });
  const listbox = page.getByRole("listbox", { name: "Suggestions" });
  await listbox.waitFor({ state: "visible" });
  const options = listbox.getByRole("option");
  await expect.poll(() => options.count()).toBeGreaterThan(1);
  expect(await box.getAttribute("aria-expanded")).toBe("true");
  expect(await box.getAttribute("aria-controls")).toBe(await listbox.getAttribute("id"));
  await box.press("ArrowDown");
  expect(await options.nth(0).getAttribute("aria-selected")).toBe("true");
  expect(await box.getAttribute("aria-activedescendant")).toBe(await options.nth(0).getAttribute("id"));
  await box.press("ArrowDown");
  expect(await options.nth(1).getAttribute("aria-selected")).toBe("true");
  expect(await options.nth(0).getAttribute("aria-selected")).toBe("false");
  await box.press("ArrowUp");
  expect(await options.nth(0).getAttribute("aria-selected")).toBe("true");
  await box.press("Escape");
  await listbox.waitFor({ state: "hidden" });
  expect(await box.getAttribute("aria-expanded")).toBe("false");

  // Enter with no option chosen submits the search (a plain GET form).
  await Promise.all([page.waitForURL(/\/search\?q=hunger$/), box.press("Enter")]);
  await page.getByRole("heading", { level: 1, name: /Results for .hunger./ }).waitFor({ state: "visible" });
  await checkAccessibility(page, "search results");
  await screenshot(page, "search");

  // The paperback facet is a link (works without JavaScript); it narrows the results and shows as chosen.
  const paperback = page.getByRole("complementary", { name: "Filters" }).getByRole("link", { name: /Paperback/ });
  await Promise.all([page.waitForURL(/format=paperback/), paperback.click()]);
  const chosen = page.getByRole("complementary", { name: "Filters" }).getByRole("link", { name: /Paperback/ });
  expect(await chosen.getAttribute("aria-current")).toBe("true");
  await checkAccessibility(page, "search results with a facet");

  await Promise.all([page.waitForURL(/\/books\/the-hunger-games$/), page.getByRole("link", { name: "The Hunger Games", exact: true }).first().click()]);
  await page.getByRole("heading", { level: 1, name: "The Hunger Games" }).waitFor({ state: "visible" });
  const formats = page.getByRole("table");
  const rows = formats.getByRole("row");
  await expect.poll(() => rows.count()).toBeGreaterThan(1);
  const paperbackRow = formats.getByRole("row", { name: /Paperback/ });
  expect(await paperbackRow.innerText()).toMatch(/\$\d+\.\d\d/);
  expect(await paperbackRow.innerText()).toMatch(/In stock|Only a few left|Out of stock/);
  expect(await page.getByRole("link", { name: "Suzanne Collins" }).first().getAttribute("href")).toBe("/search?author=suzanne-collins");
  expect(await page.getByText("ISBN-13").count()).toBe(1);
  await checkAccessibility(page, "book page");
  await screenshot(page, "book");

  await checkWeight(page, visit, 0);
  await page.close();
  expect(visit.problems).toEqual([]);
});

it("pages work without JavaScript: search, facets, pages and a 'no results' page with suggestions", async () => {
  // What a browser without JavaScript gets is the HTML itself: its links are the whole interface.
  const get = async (p: string) => {
    const r = await fetch(`${origin}${p}`);
    return { status: r.status, text: await r.text(), headers: r.headers };
  };
  const results = await get("/search?q=hunger");
  expect(results.status).toBe(200);
  expect(results.text).toMatch(/href="\/search\?q=hunger&amp;format=paperback"/);
  const browse = await get("/search");
  expect(browse.text).toMatch(/href="\/search\?page=2" rel="next"/);
  const none = await get("/search?q=qqqzzzxx");
  expect(none.status).toBe(200);
  expect(none.text).toContain("No books match");
  expect(none.text).toContain("Popular categories");
  const typo = await get("/search?q=hungr%20gamez");
  expect(typo.text).toMatch(/Showing results for|Did you mean/);
  const category = await get("/category/fantasy");
  expect(category.status).toBe(200);
  expect(category.text).toContain("<h1>Fantasy</h1>");
  expect(category.text).toMatch(/<h2[^>]*>Filters<\/h2>/);
});

it("fits a phone: no page scrolls sideways at 390 px, and the checks hold there too", async () => {
  const { page, visit } = await watchedPage();
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [label, p] of [
    ["home", "/"],
    ["search results", "/search?q=hunger"],
    ["category", "/category/fantasy"],
    ["book page", "/books/the-hunger-games"],
  ] as const) {
    const res = await page.goto(`${origin}${p}`, { waitUntil: "load" });
    expect(res?.status(), label).toBe(200);
    // Browser code as a string: the Node project has no DOM types.
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow, `${label} is ${overflow} px wider than the phone`).toBeLessThanOrEqual(0);
    // The search box stays reachable on a phone.
    expect(await page.getByRole("combobox", { name: "Search books" }).isVisible(), label).toBe(true);
    await checkAccessibility(page, `${label} (phone)`);
  }
  await page.close();
  expect(visit.problems).toEqual([]);
});
