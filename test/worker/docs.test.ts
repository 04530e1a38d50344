/**
 * The front door (GET /: the storefront's home, or the API's links as JSON), the API reference (GET /docs) and its assets, inside workerd with the real ASSETS binding:
 * content negotiation, escaping-free static pages, each page's own CSP, and the API's `default-src 'none'` everywhere
 * else. The page itself, rendered by a browser, is test/browser/docs.test.ts.
 */
import { describe, expect, it } from "vitest";
import { call, json } from "./helpers";
import type { ErrorBody } from "./helpers";
import { API_CONTENT_SECURITY_POLICY } from "../../workers/platform/security";

const directives = (csp: string | null): Map<string, string[]> =>
  new Map(
    (csp ?? "")
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((d): d is [string, ...string[]] => d[0] !== undefined && d[0] !== "")
      .map(([name, ...sources]) => [name, sources]),
  );

describe("front door", () => {
  it("answers JSON links for Accept: application/json", async () => {
    const res = await call("/", { headers: { accept: "application/json" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("vary")).toMatch(/\bAccept\b/);
    expect(await res.json()).toEqual({
      data: { name: "NexusBooks API", version: "1.0.0", links: { docs: "/docs", openapi: "/openapi.json", readyz: "/readyz", storefront: "/" } },
    });
  });

  it("answers the storefront's home to browsers and to clients that take anything: the API's links in its footer, no inline script or style", async () => {
    for (const accept of ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "*/*", undefined]) {
      const res = await call("/", accept === undefined ? {} : { headers: { accept } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("vary")).toMatch(/\bAccept\b/);
      expect(res.headers.get("etag")).toBeTruthy();
      const page = await res.text();
      expect(page).toMatch(/^<!doctype html>/);
      expect(page).toContain('<html lang="en">');
      for (const href of ["/docs", "/openapi.json", "/readyz"]) expect(page).toContain(`href="${href}"`);
      // Scripts by src only (the autocomplete), no inline script, style or handler.
      expect([...page.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual(['<script src="/storefront/assets/autocomplete.js" defer="">']);
      expect(page).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
      const csp = directives(res.headers.get("content-security-policy"));
      expect(csp.get("default-src")).toEqual(["'none'"]);
      expect(csp.get("script-src")).toEqual(["'self'"]);
      expect(csp.get("style-src")).toEqual(["'self'"]);
      expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    }
  });

  it("prefers JSON only when the client ranks it above HTML", async () => {
    const res = await call("/", { headers: { accept: "text/html;q=0.5, application/json" } });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const html = await call("/", { headers: { accept: "application/json;q=0.5, text/html" } });
    expect(html.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("refuses query parameters like every route", async () => {
    const res = await call("/?x=1", { headers: { accept: "application/json" } });
    expect(res.status).toBe(400);
    expect((await json<ErrorBody>(res)).error.code).toBe("UNKNOWN_PARAMETER");
  });
});

describe("API reference", () => {
  it("serves Swagger UI's page: scripts and styles from /docs/assets only, under a CSP that allows just those", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const page = await res.text();
    const srcs = [...page.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(srcs).toEqual(['<script src="/docs/assets/swagger-ui-bundle.js">', '<script src="/docs/assets/docs-init.js">']);
    expect(page).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/i);
    expect(page).toContain('data-openapi-url="/openapi.json"');
    for (const m of page.matchAll(/\s(?:href|src)="([^"]*)"/g)) expect(m[1]).toMatch(/^\/(?!\/)|^#/);
    const csp = directives(res.headers.get("content-security-policy"));
    expect(Object.fromEntries(csp)).toEqual({
      "default-src": ["'none'"],
      "script-src": ["'self'"],
      "style-src": ["'self'"],
      "img-src": ["'self'", "data:"],
      "connect-src": ["'self'"],
      "base-uri": ["'none'"],
      "form-action": ["'none'"],
      "frame-ancestors": ["'none'"],
    });
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("serves the initializer from the static assets, with the platform's headers and an ETag that gives a 304", async () => {
    const res = await call("/docs/assets/docs-init.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript|^application\/javascript/);
    expect(await res.text()).toContain("validatorUrl: null");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toBe(API_CONTENT_SECURITY_POLICY);
    const etag = res.headers.get("etag");
    expect(etag).toBeTruthy();
    const again = await call("/docs/assets/docs-init.js", { headers: { "if-none-match": etag ?? "" } });
    expect(again.status).toBe(304);
    // What the document declares for the 304: the validator and the caching rule.
    expect(again.headers.get("etag")).toBe(etag);
    expect(again.headers.get("cache-control")).toBe(res.headers.get("cache-control"));
  });

  it("answers a missing asset with the envelope's 404 and a malformed name with a 400", async () => {
    const missing = await call("/docs/assets/nope.js");
    expect(missing.status).toBe(404);
    expect((await json<ErrorBody>(missing)).error.code).toBe("NOT_FOUND");
    const dotted = await call("/docs/assets/..%2Fwrangler.toml");
    expect(dotted.status).toBe(400);
    expect((await json<ErrorBody>(dotted)).error.code).toBe("VALIDATION_FAILED");
    const nested = await call("/docs/assets/a/b.js");
    expect(nested.status).toBe(404);
    expect((await json<ErrorBody>(nested)).error.code).toBe("ROUTE_NOT_FOUND");
  });

  it("keeps default-src 'none' on every API route and on errors", async () => {
    for (const path of ["/healthz", "/openapi.json", "/v1/categories", "/nope", "/docs/assets/nope.js"]) {
      const res = await call(path);
      expect(res.headers.get("content-security-policy"), path).toBe(API_CONTENT_SECURITY_POLICY);
    }
  });

  it("lists the reference's routes under meta and GET / under storefront, HTML documented as text/html", async () => {
    const doc = await json<{ paths: Record<string, { get: { tags: string[]; responses: Record<string, { content?: Record<string, unknown> }> } }> }>(
      await call("/openapi.json"),
    );
    for (const path of ["/docs", "/docs/assets/{file}"]) expect(doc.paths[path]?.get.tags).toEqual(["meta"]);
    for (const path of ["/", "/search", "/category/{slug}", "/books/{slug}", "/storefront/assets/{file}"]) expect(doc.paths[path]?.get.tags).toEqual(["storefront"]);
    expect(Object.keys(doc.paths["/"]?.get.responses["200"]?.content ?? {}).sort()).toEqual(["application/json", "text/html"]);
    expect(Object.keys(doc.paths["/docs"]?.get.responses["200"]?.content ?? {})).toEqual(["text/html"]);
  });
});
