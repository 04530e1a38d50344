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
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { startTestWorker } from "../../dev/test-worker";
import type { TestWorker } from "../../dev/test-worker";
import { loadStackConfig } from "../../dev/config";
import { prepareAssets } from "../../dev/prepare-assets";

const CHROMIUM = process.env.NB_CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const cfg = loadStackConfig();
let worker: TestWorker | undefined;
let origin = "";
let context: BrowserContext;
const tmpDirs: string[] = [];

/** What one page load did: every request, and everything that went wrong. */
interface Visit {
  requests: string[];
  problems: string[];
}

beforeAll(async () => {
  await prepareAssets();
  worker = await startTestWorker(cfg, cfg.testDatabase);
  origin = worker.origin;
  const profile = mkdtempSync(path.join(tmpdir(), "nb-chromium-profile-"));
  tmpDirs.push(profile);
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  // Every CSP violation on any page, reported from the page itself as a console error (this runs before the page's
  // own scripts). Browser code as a string: the Node project has no DOM types.
  await context.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (e) => {
      console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "(inline)") + " at " + e.sourceFile + ":" + e.lineNumber);
    });`,
  });
}, 180_000);

afterAll(async () => {
  await context?.close();
  await worker?.dispose();
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

/** A new page that records what it requests and what goes wrong (failed or refused requests, errors, CSP). */
async function watchedPage(): Promise<{ page: Page; visit: Visit }> {
  const page = await context.newPage();
  const visit: Visit = { requests: [], problems: [] };
  page.on("request", (req) => {
    visit.requests.push(req.url());
    const url = new URL(req.url());
    if (url.protocol !== "data:" && url.protocol !== "blob:" && url.origin !== origin) visit.problems.push(`request to another origin: ${req.url()}`);
  });
  page.on("requestfailed", (req) => visit.problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText ?? "?"}`));
  page.on("response", (res) => {
    if (res.status() >= 400) visit.problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") visit.problems.push(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => visit.problems.push(`page error: ${err.message}`));
  return { page, visit };
}


const HTML_BUDGET = 60 * 1024;
const JS_BUDGET = 40 * 1024;

/** Every document and script the page loaded, gzipped as a server would send them, against the budget. */
async function checkWeight(page: Page, visit: Visit, from: number): Promise<void> {
  const seen = new Set<string>();
  for (const url of visit.requests.slice(from)) {
    const u = new URL(url);
    if (u.origin !== origin || seen.has(u.pathname + u.search)) continue;
    seen.add(u.pathname + u.search);
    const res = await page.request.get(url);
    const type = res.headers()["content-type"] ?? "";
    const size = gzipSync(await res.body()).length;
    if (type.startsWith("text/html")) expect(size, `HTML ${u.pathname}${u.search}`).toBeLessThanOrEqual(HTML_BUDGET);
    if (type.includes("javascript")) expect(size, `JS ${u.pathname}`).toBeLessThanOrEqual(JS_BUDGET);
  }
}

/** axe-core, injected through the DevTools protocol (the pages' CSP allows no inline script, rightly). */
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's WCAG checks on the page as rendered: no serious or critical violation. */
async function checkAccessibility(page: Page, label: string): Promise<void> {
  await page.evaluate(AXE);
  // A string, evaluated in the page: the Node side has no DOM types.
  const violations = await page.evaluate<AxeViolation[]>(
    `axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target })) })))`,
  );
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious, `${label}: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.NB_SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}-desktop.png`) });
  const desktop = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(dir, `${name}-phone.png`) });
  if (desktop) await page.setViewportSize(desktop);
}

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
