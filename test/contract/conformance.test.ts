/**
 * The conformance checker itself: it accepts what the document describes and rejects, with a readable message, an
 * undocumented field, an undocumented status, an undocumented error code, a wrong type — and the rest of what the
 * suites rely on (literal paths over templates, HEAD, 304s, 404/405 of unknown paths, closed compositions).
 */
import { describe, expect, it } from "vitest";
import { devApp } from "../../workers/app";
import { buildDocument } from "../../workers/platform/openapi-document";
import { ConformanceChecker, formatViolation, prepareSchema } from "../support/conformance";
import type { Exchange, JsonSchema, OpenApiDocument } from "../support/conformance";

const doc = buildDocument(devApp, { devRoutes: true }) as unknown as OpenApiDocument;
const checker = new ConformanceChecker(doc);

const HEADERS = { "content-type": "application/json", "x-request-id": "r-1", "cache-control": "no-store", etag: 'W/"1"' };
const exchange = (method: string, url: string, status: number, body: unknown, headers: Record<string, string> = HEADERS, requestHeaders?: Record<string, string>): Exchange => ({
  method,
  url,
  status,
  headers: new Headers(headers),
  body: typeof body === "string" ? body : JSON.stringify(body),
  requestHeaders,
});
const problemsOf = (x: Exchange): string[] => checker.check(x)?.problems ?? [];
const envelope = (code: string, extra: Record<string, unknown> = {}) => ({ error: { code, message: "m", details: null, request_id: "r-1", ...extra } });

const money = { amount: 1299, currency: "USD" };
const ref = { slug: "fantasy", name: "Fantasy", path: "fiction/fantasy" };
const product = {
  id: 1,
  slug: "the-hunger-games",
  name: "The Hunger Games",
  subtitle: null,
  description: null,
  isbn13: "9780439023481",
  isbn10: null,
  gtin: null,
  language: "en",
  published_year: 2008,
  authors: [{ slug: "suzanne-collins", name: "Suzanne Collins", role: null }],
  brand: null,
  category: ref,
  categories: [ref],
  images: [],
  attributes: { pages: 374, anything: { goes: true } },
  price: { from: money, to: money },
  rating: { average: 4.3, count: 10 },
  featured: false,
  variants: [{ sku: "BK00001-PB", name: "Paperback", attributes: {}, price: money, status: "active", availability: "in_stock", in_stock: true, backorder: false }],
  version: 3,
  updated_at: "2024-01-01T00:00:00Z",
};
const listItem = {
  id: 1,
  slug: "x",
  name: "X",
  subtitle: null,
  authors: [],
  category: ref,
  price: { from: money, to: money },
  formats: ["paperback"],
  rating: { average: 0, count: 0 },
  image: null,
  in_stock: true,
  availability: "low_stock",
  featured: false,
  published_year: null,
  language: null,
};
const page = { limit: 24, next_cursor: null, has_more: false, sort: "popularity" };

describe("what conforms", () => {
  it("documented bodies, statuses and codes pass", () => {
    expect(checker.check(exchange("GET", "/healthz", 200, { data: { status: "ok" } }))).toBeNull();
    expect(checker.check(exchange("GET", "/v1/products/the-hunger-games", 200, { data: product }))).toBeNull();
    expect(checker.check(exchange("GET", "/v1/products?limit=1", 200, { data: [listItem], page }))).toBeNull();
    expect(checker.check(exchange("GET", "/v1/products/nope", 404, envelope("PRODUCT_NOT_FOUND")))).toBeNull();
    expect(checker.check(exchange("GET", "/v1/products?limit=99", 400, envelope("PAGE_SIZE_TOO_LARGE", { details: [{ path: "limit" }] })))).toBeNull();
  });

  it("literal segments win over templates", () => {
    expect(checker.findOperation("GET", "/v1/products/by-isbn/9780439023481")).toMatchObject({ kind: "operation", template: "/v1/products/by-isbn/{isbn}" });
    expect(checker.findOperation("GET", "/v1/products/by-isbn")).toMatchObject({ kind: "operation", template: "/v1/products/{slug}" });
    // INVALID_ISBN is the by-isbn operation's code, not the product-by-slug one's.
    expect(checker.check(exchange("GET", "/v1/products/by-isbn/12", 400, envelope("INVALID_ISBN")))).toBeNull();
    expect(problemsOf(exchange("GET", "/v1/products/some-slug", 400, envelope("INVALID_ISBN")))).toContain("error code INVALID_ISBN is not in the operation's x-error-codes");
  });

  it("a templated segment matches exactly one non-empty segment", () => {
    expect(checker.matchTemplate("/v1/products/a/b")).toBeNull();
    expect(checker.matchTemplate("/v1/products/")).toBeNull();
    expect(checker.matchTemplate("/v1/categories/fantasy/products")).toBe("/v1/categories/{slug}/products");
  });

  it("HEAD is answered like GET with no body; 304 has no body", () => {
    expect(checker.check(exchange("HEAD", "/healthz", 200, ""))).toBeNull();
    expect(problemsOf(exchange("HEAD", "/healthz", 200, '{"data":{"status":"ok"}}'))).toContain("a HEAD answer has a body");
    expect(checker.check(exchange("GET", "/v1/categories", 304, "", { "x-request-id": "r", etag: 'W/"1"', "cache-control": "public" }))).toBeNull();
    expect(problemsOf(exchange("GET", "/v1/categories", 304, "{}"))).toContain("status 304 is documented without a body, but 2 bytes were sent");
  });

  it("paths without an operation: only the 404/405 envelope (and pre-routing codes)", () => {
    expect(checker.check(exchange("GET", "/nowhere", 404, envelope("ROUTE_NOT_FOUND")))).toBeNull();
    expect(checker.check(exchange("POST", "/nowhere", 413, envelope("PAYLOAD_TOO_LARGE")))).toBeNull();
    expect(checker.check(exchange("DELETE", "/healthz", 405, envelope("METHOD_NOT_ALLOWED"), { ...HEADERS, allow: "GET, HEAD" }))).toBeNull();
    expect(checker.check(exchange("OPTIONS", "/v1/categories", 204, "", {}, { origin: "http://localhost:3000", "access-control-request-method": "GET" }))).toBeNull();
    expect(problemsOf(exchange("GET", "/nowhere", 200, { data: {} }))[0]).toMatch(/no operation is documented for this path/);
    expect(problemsOf(exchange("DELETE", "/healthz", 405, envelope("METHOD_NOT_ALLOWED"), { ...HEADERS, allow: "GET, POST" }))).toContain(
      'Allow "GET, POST" differs from the documented methods of /healthz (GET, HEAD)',
    );
    expect(problemsOf(exchange("GET", "/v1/products/", 405, envelope("METHOD_NOT_ALLOWED"), { ...HEADERS, allow: "GET, HEAD" }))).toContain(
      "405 on a path the document does not have (expected 404 ROUTE_NOT_FOUND)",
    );
    expect(problemsOf(exchange("PUT", "/healthz", 405, envelope("ROUTE_NOT_FOUND"), { ...HEADERS, allow: "GET, HEAD" })).join("\n")).toMatch(/code/);
  });
});

describe("what the checker rejects", () => {
  it("an undocumented field, at the top, nested, inside a $ref'd component and inside the envelope", () => {
    expect(problemsOf(exchange("GET", "/healthz", 200, { data: { status: "ok" }, debug: true }))).toEqual(["schema: #: undocumented field debug"]);
    expect(problemsOf(exchange("GET", "/healthz", 200, { data: { status: "ok", uptime: 1 } }))).toEqual(["schema: #/data: undocumented field uptime"]);
    expect(problemsOf(exchange("GET", "/v1/products?limit=1", 200, { data: [{ ...listItem, stock_count: 7 }], page }))).toEqual(["schema: #/data/0: undocumented field stock_count"]);
    expect(problemsOf(exchange("GET", "/v1/products/x", 200, { data: { ...product, variants: [{ ...product.variants[0], on_hand: 3 }] } }))).toEqual([
      "schema: #/data/variants/0: undocumented field on_hand",
    ]);
    expect(problemsOf(exchange("GET", "/v1/products/x", 404, envelope("PRODUCT_NOT_FOUND", { stack: "at …" })))).toEqual(["schema: #/error: undocumented field stack"]);
  });

  it("an undocumented status", () => {
    expect(problemsOf(exchange("GET", "/healthz", 201, { data: { status: "ok" } }))).toEqual(["status 201 is not documented (documented: 200, 400, 401, 429, 500, 503)"]);
    expect(problemsOf(exchange("GET", "/healthz", 409, envelope("CART_LOCKED")))).toEqual(["status 409 is not documented (documented: 200, 400, 401, 429, 500, 503)", "(its error code is CART_LOCKED)"]);
  });

  it("an undocumented error code (of a documented status)", () => {
    const problems = problemsOf(exchange("GET", "/v1/products/x", 404, envelope("CART_NOT_FOUND")));
    expect(problems).toContain("error code CART_NOT_FOUND is not in the operation's x-error-codes");
    expect(problems.some((p) => p.startsWith("schema: #/error/code: Instance does not match any of"))).toBe(true);
  });

  it("a wrong type, a missing required field, an enum miss", () => {
    expect(problemsOf(exchange("GET", "/healthz", 200, { data: { status: 1 } }))).toEqual(expect.arrayContaining([expect.stringMatching(/^schema: #\/data\/status: Instance type "number" is invalid/)]));
    expect(problemsOf(exchange("GET", "/v1/products/x", 200, { data: { ...product, id: "1" } }))).toEqual([expect.stringMatching(/^schema: #\/data\/id: Instance type "string" is invalid\. Expected "integer"/)]);
    const { version: _v, ...noVersion } = product;
    expect(problemsOf(exchange("GET", "/v1/products/x", 200, { data: noVersion }))).toEqual([expect.stringMatching(/^schema: #\/data: Instance does not have required property "version"/)]);
    expect(problemsOf(exchange("GET", "/v1/products/x", 200, { data: { ...product, variants: [{ ...product.variants[0], availability: "plenty" }] } }))[0]).toMatch(
      /^schema: #\/data\/variants\/0\/availability: Instance does not match any of/,
    );
  });

  it("a wrong content type, a body that is not JSON, a missing documented header", () => {
    expect(problemsOf(exchange("GET", "/healthz", 200, "<html></html>", { ...HEADERS, "content-type": "text/html" }))).toEqual(["content type text/html is not documented (documented: application/json)"]);
    expect(problemsOf(exchange("GET", "/healthz", 200, "{oops"))).toEqual(["the body is not JSON"]);
    expect(problemsOf(exchange("GET", "/healthz", 200, { data: { status: "ok" } }, { "content-type": "application/json", "x-request-id": "r" }))).toEqual([
      "documented required header Cache-Control is missing",
    ]);
  });

  it("the failure message names the request, operation, status, problem and body", () => {
    const v = checker.check(exchange("GET", "/v1/products/x?x=1", 200, { data: { ...product, secret: "s" } }));
    expect(v).not.toBeNull();
    const text = formatViolation(v as NonNullable<typeof v>);
    expect(text).toMatch(/^Response does not conform to the OpenAPI document: GET \/v1\/products\/x\?x=1 → 200 \(operation GET \/v1\/products\/\{slug\}\)/);
    expect(text).toContain("  - schema: #/data: undocumented field secret");
    expect(text).toContain('  body: {"data":{"id":1');
  });
});

describe("strict mode on compositions", () => {
  const fixtureDoc: OpenApiDocument = {
    components: {
      schemas: {
        Base: { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        Open: { type: "object", properties: { a: { type: "string" } }, additionalProperties: {} },
      },
    },
  };
  const c = new ConformanceChecker(fixtureDoc);
  const v = (schema: JsonSchema, value: unknown) => c.validate(schema, value);

  it("allOf: the properties of every branch count, others fail", () => {
    const s = { allOf: [{ $ref: "#/components/schemas/Base" }, { type: "object", properties: { b: { type: "number" } } }] };
    expect(v(s, { a: "x", b: 1 })).toEqual([]);
    expect(v(s, { a: "x", b: 1, c: 2 })).toEqual(["#: undocumented field c"]);
  });

  it("anyOf/oneOf (nullable objects, unions): a branch's own fields only", () => {
    const s = { anyOf: [{ type: "object", properties: { a: { type: "string" } } }, { type: "null" }] };
    expect(v(s, null)).toEqual([]);
    expect(v(s, { a: "x" })).toEqual([]);
    expect(v(s, { a: "x", z: 1 })).toEqual(["#: undocumented field z"]);
    const u = { oneOf: [{ type: "object", properties: { kind: { const: "a" }, a: { type: "string" } }, required: ["kind"] }, { type: "object", properties: { kind: { const: "b" }, b: { type: "string" } }, required: ["kind"] }] };
    expect(v(u, { kind: "b", b: "x" })).toEqual([]);
    expect(v(u, { kind: "b", a: "x" })).not.toEqual([]);
  });

  it("a $ref with siblings, a bare $ref, an explicit open object, a record", () => {
    expect(v({ $ref: "#/components/schemas/Base", description: "d" }, { a: "x", b: 1 })).toEqual(["#: undocumented field b"]);
    expect(v({ type: "array", items: { $ref: "#/components/schemas/Base" } }, [{ a: "x" }, { a: "y", q: 1 }])).toEqual(["#/1: undocumented field q"]);
    expect(v({ $ref: "#/components/schemas/Open" }, { a: "x", anything: 1 })).toEqual([]);
    expect(v({ type: "object", propertyNames: { type: "string" }, additionalProperties: {} }, { k: { deep: 1 } })).toEqual([]);
    expect(v({}, { anything: 1 })).toEqual([]);
  });

  it("as-is validation keeps the document's rules without closing anything", () => {
    expect(c.validate({ type: "object", properties: { a: { type: "string" } } }, { a: "x", extra: 1 }, { asis: true })).toEqual([]);
    expect(c.validate({ type: "object", properties: { a: { type: "string" } }, additionalProperties: false }, { a: "x", extra: 1 }, { asis: true })).toEqual(["#: undocumented field extra"]);
    expect(prepareSchema({ type: "object", description: "d", example: { id: 1 } }, "asis")).toEqual({ type: "object" });
  });
});
