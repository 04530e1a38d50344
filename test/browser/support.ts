/**
 * What every browser test shares: Debian's chromium (driven by playwright-core) with the flags this offline machine
 * needs, a page that records every request and everything that goes wrong (a request to another origin, a failed
 * request, an HTTP error, a console error or warning, a page error, a CSP violation), the page-weight budget,
 * axe-core's checks and screenshots.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { expect } from "vitest";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";

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

/** What one page did: every request, and everything that went wrong. */
export interface Visit {
  requests: string[];
  problems: string[];
}

/** A browser with a fresh profile; `close` also removes the profile. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches chromium headless on a fresh profile, every CSP violation reported as a console error. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), "nb-chromium-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  // Runs before the page's own scripts. Browser code as a string: the Node project has no DOM types.
  await context.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (e) => {
      console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "(inline)") + " at " + e.sourceFile + ":" + e.lineNumber);
    });`,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A new page that records what it requests and what goes wrong; requests off `origin` are problems. */
export async function watchedPage(context: BrowserContext, origin: string): Promise<{ page: Page; visit: Visit }> {
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

/** Every document and script the page loaded from `origin` (from request `from` on), gzipped, against the budget. */
export async function checkWeight(page: Page, visit: Visit, from: number, origin: string): Promise<void> {
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
export async function checkAccessibility(page: Page, label: string): Promise<void> {
  await page.evaluate(AXE);
  // A string, evaluated in the page: the Node side has no DOM types.
  const violations = await page.evaluate<AxeViolation[]>(
    `axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target })) })))`,
  );
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious, `${label}: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
}

/** Desktop and phone screenshots of the page as `<name>-desktop.png`/`-phone.png` when NB_SCREENSHOT_DIR is set. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.NB_SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}-desktop.png`) });
  const desktop = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(dir, `${name}-phone.png`) });
  if (desktop) await page.setViewportSize(desktop);
}
