/**
 * Schema-driven fuzzing of a running Worker. For every operation of its OpenAPI document, requests are generated
 * from the parameter and body schemas (test/support/schema-arbitrary.ts): valid ones, and ones broken on purpose —
 * wrong types, missing required fields, unknown fields and parameters, out-of-range numbers, huge strings and bodies,
 * odd Unicode (lone surrogates, NUL, RTL, emoji), wrong content types, malformed JSON, path parameters of odd shapes.
 * Each request is classified by the document itself (does the document say it is invalid?). Invariants:
 *  - never a 5xx;
 *  - every response conforms to the document (the strict checker), so every error is the envelope with a documented code;
 *  - a request the document says is invalid is never answered 2xx;
 *  - the requests that must be rejected change nothing: a snapshot of the store (injected) before and after is equal.
 * Generation is deterministic per (seed, operation), so a failure is replayed with the same seed (and `--op`).
 */
import fc from "fast-check";
import { ConformanceChecker, errorCodeOf, formatViolation, HTTP_METHODS } from "../support/conformance";
import type { JsonSchema, OpenApiDocument, OperationObject, ParameterObject } from "../support/conformance";
import { NO_WRONG_TYPE, oddString, resolveSchema, typesOf, valueArbitrary, wrongTypeArbitrary } from "../support/schema-arbitrary";
import type { ArbitraryContext } from "../support/schema-arbitrary";

/** The body cap of the API (platform/security.ts): bigger bodies are 413. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface FuzzCredentials {
  /** A staff bearer token (ADMIN_API_TOKEN or a staff user's access token). */
  staff?: string | undefined;
  /** A customer's access token. */
  customer?: string | undefined;
  /** A guest cart's X-Cart-Token. */
  cart?: string | undefined;
  /** The Stripe webhook secret, to sign bodies for the Stripe-Signature scheme. */
  stripeWebhookSecret?: string | undefined;
}

export interface FuzzFixtures {
  /** Known values by parameter/property name for safe operations (GET): real slugs, SKUs, ISBNs. */
  read: Record<string, readonly string[]>;
  /** Known values for operations that change state: only objects the fuzzer may change. */
  write: Record<string, readonly string[]>;
  /** Names whose valid values come only from the fixtures (a bench's iteration count, not up to 20,000). */
  exclusive?: readonly string[];
}

export interface FuzzOptions {
  origin: string;
  doc: OpenApiDocument;
  seed: number;
  /** Requests generated per operation. */
  runs: number;
  credentials: FuzzCredentials;
  fixtures: FuzzFixtures;
  concurrency?: number;
  /** Stop sending new requests after this long (the report says so). */
  budgetMs?: number;
  /** Only operations whose `METHOD /template` contains this. */
  only?: string | undefined;
  /** Snapshot of what must not change (row counts, sums, hashes): taken around the must-reject requests. */
  snapshot?: () => Promise<Record<string, string | number>>;
  /** Wait before the second snapshot, for background work a request could have started (default 2500 ms). */
  settleMs?: number;
  /** Runs after the valid requests (e.g. to restore fixture objects the fuzzer changed). */
  afterValid?: () => Promise<void>;
  log?: (line: string) => void;
}

export interface OperationStats {
  sent: number;
  ok2xx: number;
  other: Record<string, number>;
  errors4xx: Record<string, number>;
  errors5xx: Record<string, number>;
  mustReject: number;
}

export interface FuzzFailure {
  operation: string;
  index: number;
  kind: string;
  request: string;
  problem: string;
}

export interface FuzzReport {
  seed: number;
  perOperation: Record<string, OperationStats>;
  failures: FuzzFailure[];
  stateChanges: string[];
  sent: number;
  elapsedMs: number;
  stoppedEarly: boolean;
}

interface Operation {
  label: string;
  method: string;
  template: string;
  op: OperationObject;
}

/** One request, in parts, before it is put on the wire. */
interface Parts {
  kind: string;
  /** Path parameter values as the server should see them (encoded with encodeURIComponent), unless `raw`. */
  path: Record<string, { value: string; raw?: boolean }>;
  query: [string, string][];
  rawQuery?: string;
  headers: Record<string, string>;
  body: { json: unknown } | { text: string } | null;
  contentType: string | null;
  auth: AuthChoice;
}

type AuthChoice = "documented" | "staff" | "customer" | "cart" | "none" | "garbage" | "malformed";

interface Planned {
  operation: Operation;
  index: number;
  parts: Parts;
  /** Why the document says the request is invalid (null: it is valid as far as the document can tell). */
  rejectReason: string | null;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A 32-bit hash of a string (FNV-1a), to derive one seed per operation. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths ?? {})) {
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (op) out.push({ label: `${m.toUpperCase()} ${template}`, method: m.toUpperCase(), template, op });
    }
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

const paramsIn = (op: OperationObject, where: ParameterObject["in"]) => (op.parameters ?? []).filter((p) => p.in === where);
const jsonBodySchema = (op: OperationObject): JsonSchema | undefined => op.requestBody?.content?.["application/json"]?.schema;
const codesOf = (op: OperationObject): string[] => op["x-error-codes"] ?? [];

/**
 * A header parameter's value: HTTP carries header values as bytes (fetch refuses anything beyond Latin-1), so
 * characters outside visible ASCII are replaced; whether the result is still valid is judged afterwards, like every
 * generated value.
 */
const headerArbitrary = (p: ParameterObject, ctx: ArbitraryContext): fc.Arbitrary<unknown> =>
  valueArbitrary(p.schema, ctx, p.name).map((v) => (typeof v === "string" ? v.replace(/[^\x21-\x7e]/g, "x") : v));

/** Operations whose success revokes every session of the caller (the fuzzer's customer token included). */
const SESSION_ENDING: ReadonlySet<string> = new Set(["POST /v1/auth/logout-all"]);

/** A parameter value as it travels: strings as they are, numbers and booleans as text, arrays as repeated pairs. */
function wireValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(wireValues);
  if (value === null || value === undefined) return [""];
  if (typeof value === "object") return [JSON.stringify(value)];
  return [typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : JSON.stringify(value) ?? ""];
}

/** Is this wire value (or these repeated values) valid for the parameter's schema, read the way the server reads it? */
function paramValid(checker: ConformanceChecker, schema: JsonSchema | undefined, values: string[], key: string): boolean {
  const s = resolveSchema(checker.doc, schema);
  const candidates = (raw: string): unknown[] => {
    const out: unknown[] = [raw];
    if (/^-?\d+(\.\d+)?$/.test(raw)) out.push(Number(raw));
    if (raw === "true" || raw === "false") out.push(raw === "true");
    return out;
  };
  const valid = (v: unknown) => checker.validate(s, v, { asis: true, cacheKey: `param:${key}` }).length === 0;
  if (values.length === 1) return candidates(values[0] ?? "").some(valid);
  // Repeated: the server sees an array.
  return valid(values) || valid(values.map((v) => candidates(v)[1] ?? v));
}

/** The document's verdict on a request: a reason it is invalid, or null. */
function documentRejects(checker: ConformanceChecker, o: Operation, parts: Parts, finalPath: string, bodyText: string | undefined): string | null {
  const template = checker.matchTemplate(finalPath);
  if (template === null) return "the path matches no documented path (404)";
  if (template !== o.template) return null; // normalised into another operation's path: no verdict
  for (const p of paramsIn(o.op, "path")) {
    const v = parts.path[p.name];
    let value = v?.value ?? "";
    if (v?.raw) {
      try {
        value = decodeURIComponent(value);
      } catch {
        // the server sees the raw text
      }
    }
    if (!paramValid(checker, p.schema, [value], `${o.label}:path:${p.name}`)) return `path parameter ${p.name} is invalid`;
  }
  const queryParams = paramsIn(o.op, "query");
  const names = new Set(queryParams.map((p) => p.name));
  const pairs = [...parts.query];
  if (parts.rawQuery) {
    for (const piece of parts.rawQuery.split("&").filter(Boolean)) {
      const [k = "", v = ""] = piece.split("=");
      let key = k;
      let value = v;
      try {
        key = decodeURIComponent(k.replaceAll("+", " "));
        value = decodeURIComponent(v.replaceAll("+", " "));
      } catch {
        return null; // malformed percent-encoding: the document has no verdict
      }
      pairs.push([key, value]);
    }
  }
  // A pair without a name (`?=x`, `?&&`) names no parameter: the document has nothing to say about it.
  const unknown = pairs.map(([k]) => k).filter((k) => k !== "" && !names.has(k));
  if (unknown.length > 0 && codesOf(o.op).includes("UNKNOWN_PARAMETER")) return `unknown query parameter ${unknown[0] ?? ""}`;
  for (const p of queryParams) {
    const values = pairs.filter(([k]) => k === p.name).map(([, v]) => v);
    if (values.length === 0) {
      if (p.required) return `required query parameter ${p.name} is missing`;
      continue;
    }
    if (!paramValid(checker, p.schema, values, `${o.label}:query:${p.name}`)) return `query parameter ${p.name} is invalid`;
  }
  for (const p of paramsIn(o.op, "header")) {
    const value = Object.entries(parts.headers).find(([k]) => k.toLowerCase() === p.name.toLowerCase())?.[1];
    if (value === undefined) {
      if (p.required) return `required header ${p.name} is missing`;
      continue;
    }
    if (!paramValid(checker, p.schema, [value], `${o.label}:header:${p.name}`)) return `header ${p.name} is invalid`;
  }
  if (bodyText !== undefined && new TextEncoder().encode(bodyText).length > MAX_BODY_BYTES && o.method !== "GET") return "the body is over 64 KiB";
  const bodySchema = jsonBodySchema(o.op);
  if (bodySchema !== undefined) {
    if (bodyText === undefined || bodyText === "") return o.op.requestBody?.required ? "the required body is missing" : null;
    if ((parts.contentType ?? "").split(";")[0]?.trim().toLowerCase() !== "application/json") return "the body is not application/json";
    let value: unknown;
    try {
      value = JSON.parse(bodyText);
    } catch {
      return "the body is not JSON";
    }
    const errors = checker.validate(bodySchema, value, { asis: true, cacheKey: `body:${o.label}` });
    if (errors.length > 0) return `the body breaks its schema (${errors[0] ?? ""})`;
  }
  return null;
}

/** Property paths of an object schema (top level and one level down), with their schemas. */
function propertyPaths(doc: OpenApiDocument, schema: JsonSchema | undefined): { path: string[]; schema: JsonSchema; required: boolean }[] {
  const out: { path: string[]; schema: JsonSchema; required: boolean }[] = [];
  const walk = (s: JsonSchema | undefined, prefix: string[], depth: number) => {
    const r = resolveSchema(doc, s);
    if (!isRecord(r) || !isRecord(r.properties)) return;
    const required = Array.isArray(r.required) ? (r.required as string[]) : [];
    for (const [k, v] of Object.entries(r.properties as Record<string, JsonSchema>)) {
      out.push({ path: [...prefix, k], schema: v, required: required.includes(k) });
      if (depth < 1) walk(v, [...prefix, k], depth + 1);
    }
  };
  walk(schema, [], 0);
  return out;
}

function setPath(target: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const base = isRecord(target) ? { ...target } : {};
  const [head = "", ...rest] = path;
  base[head] = setPath(base[head], rest, value);
  return base;
}

function deletePath(target: unknown, path: string[]): unknown {
  if (!isRecord(target) || path.length === 0) return target;
  const [head = "", ...rest] = path;
  const copy = { ...target };
  if (rest.length === 0) delete copy[head];
  else copy[head] = deletePath(copy[head], rest);
  return copy;
}

/** A value that breaks a schema's bounds (numbers beyond min/max, non-integers, strings beyond length), if any. */
function outOfRange(doc: OpenApiDocument, schema: JsonSchema): fc.Arbitrary<unknown> | null {
  const s = resolveSchema(doc, schema);
  if (!isRecord(s)) return null;
  const types = typesOf(s);
  const options: unknown[] = [];
  const n = (k: string): number | undefined => {
    const v = s[k];
    return typeof v === "number" ? v : undefined;
  };
  if (types.includes("integer") || types.includes("number")) {
    const min = n("minimum") ?? n("exclusiveMinimum");
    const max = n("maximum") ?? n("exclusiveMaximum");
    if (min !== undefined) options.push(min - 1, min - 1e9);
    if (max !== undefined) options.push(max + 1, max * 10 + 1, Number.MAX_SAFE_INTEGER + 2);
    if (types.includes("integer") && !types.includes("number")) options.push(1.5, (min ?? 0) + 0.5);
  }
  if (types.includes("string")) {
    const maxLength = n("maxLength");
    const minLength = n("minLength");
    if (maxLength !== undefined) options.push("x".repeat(maxLength + 1), "😀".repeat(maxLength + 1));
    if (minLength !== undefined && minLength > 0) options.push("x".repeat(minLength - 1));
  }
  return options.length > 0 ? fc.constantFrom(...options) : null;
}

/** Values for a path segment of odd shape, raw (already on the wire) or to be encoded. */
const oddSegment: fc.Arbitrary<{ value: string; raw?: boolean }> = fc.oneof(
  fc.constantFrom(
    { value: "", raw: true },
    { value: "%2e%2e", raw: true },
    { value: "%2F", raw: true },
    { value: "a%2Fb", raw: true },
    { value: "%00", raw: true },
    { value: "%zz", raw: true },
    { value: "%E0%A4%A", raw: true },
    { value: "%C0%AF", raw: true },
    { value: "..%2f..%2f", raw: true },
    { value: "UPPER" },
    { value: "-leading" },
    { value: "a--b" },
    { value: " " },
    { value: "x".repeat(5000) },
    { value: "null" },
    { value: "0" },
    { value: "-1" },
    { value: "00000000-0000-0000-0000-000000000000" },
    { value: "__proto__" },
  ),
  oddString.map((value) => ({ value })),
);

const MALFORMED_JSON = ['{"a":', "{'a':1}", "[", "{}}", '{"a":1,}', "\ufeff{}", "NaN", '{"a":"\\ud800"', '{"__proto__":{"x":1}', "nul", "\u0000", '{"a":1}{"b":2}'];
const WRONG_CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/json-patch+json", "application/jsonx", ""];
const UNKNOWN_PARAMS = ["x_fuzz", "__proto__", "constructor", "LIMIT", "limit[]", "q\u0000", "😀", "a.b", " "];

const authArbitrary: fc.Arbitrary<AuthChoice> = fc.oneof(
  { weight: 10, arbitrary: fc.constant<AuthChoice>("documented") },
  { weight: 2, arbitrary: fc.constant<AuthChoice>("staff") },
  { weight: 2, arbitrary: fc.constant<AuthChoice>("customer") },
  { weight: 1, arbitrary: fc.constant<AuthChoice>("cart") },
  { weight: 2, arbitrary: fc.constant<AuthChoice>("none") },
  { weight: 1, arbitrary: fc.constant<AuthChoice>("garbage") },
  { weight: 1, arbitrary: fc.constant<AuthChoice>("malformed") },
);

/** The arbitrary of one operation's requests: a valid request, then (most of the time) one mutation of it. */
function requestArbitrary(o: Operation, doc: OpenApiDocument, fixtures: FuzzFixtures): fc.Arbitrary<Parts> {
  const safe = o.method === "GET" || o.method === "HEAD";
  const known = safe ? fixtures.read : fixtures.write;
  const ctx: ArbitraryContext = { doc, fixtures: (name) => known[name], exclusive: (name) => (fixtures.exclusive ?? []).includes(name) };
  const pathParams = paramsIn(o.op, "path");
  const queryParams = paramsIn(o.op, "query");
  const headerParams = paramsIn(o.op, "header");
  const bodySchema = jsonBodySchema(o.op);

  const path = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, valueArbitrary(p.schema, ctx, p.name).map((v) => ({ value: wireValues(v)[0] ?? "" }))])));
  const query = fc
    .tuple(...queryParams.map((p) => (p.required ? valueArbitrary(p.schema, ctx, p.name).map((v) => [p.name, v] as const) : fc.option(valueArbitrary(p.schema, ctx, p.name).map((v) => [p.name, v] as const), { freq: 2 }))))
    .map((entries) => entries.filter((e): e is readonly [string, unknown] => e !== null).flatMap(([k, v]) => wireValues(v).map((w) => [k, w] as [string, string])));
  const headers = fc
    .tuple(...headerParams.map((p) => (p.required ? headerArbitrary(p, ctx).map((v) => [p.name, v] as const) : fc.option(headerArbitrary(p, ctx).map((v) => [p.name, v] as const), { freq: 3 }))))
    .map((entries) => Object.fromEntries(entries.filter((e): e is readonly [string, unknown] => e !== null).map(([k, v]) => [k, wireValues(v)[0] ?? ""])));
  const body: fc.Arbitrary<Parts["body"]> =
    bodySchema === undefined ? fc.constant(null) : o.op.requestBody?.required ? valueArbitrary(bodySchema, ctx).map((json) => ({ json })) : fc.option(valueArbitrary(bodySchema, ctx).map((json) => ({ json })), { freq: 4 });

  const valid: fc.Arbitrary<Parts> = fc.record({ path, query, headers, body, auth: authArbitrary }).map((r) => ({
    kind: "valid",
    path: r.path,
    query: r.query,
    headers: r.headers,
    body: r.body,
    contentType: r.body === null ? null : "application/json",
    auth: r.auth,
  }));

  const props = propertyPaths(doc, bodySchema);
  const stringProps = props.filter((p) => typesOf(resolveSchema(doc, p.schema)).includes("string"));
  const rangedProps = props.map((p) => ({ ...p, bad: outOfRange(doc, p.schema) })).filter((p): p is typeof p & { bad: fc.Arbitrary<unknown> } => p.bad !== null);
  const requiredProps = props.filter((p) => p.required);
  const rangedQuery = queryParams.map((p) => ({ p, bad: outOfRange(doc, p.schema ?? {}) })).filter((x): x is { p: ParameterObject; bad: fc.Arbitrary<unknown> } => x.bad !== null);

  type Mutation = [string, (base: Parts) => fc.Arbitrary<Parts>];
  const mutations: Mutation[] = [];
  const withBody = (base: Parts, json: unknown): Parts => ({ ...base, body: { json }, contentType: "application/json" });
  const baseJson = (base: Parts): unknown => (base.body && "json" in base.body ? base.body.json : {});
  if (bodySchema !== undefined) {
    mutations.push(["body:not-an-object", (b) => wrongTypeArbitrary(bodySchema, doc).filter((v) => v !== NO_WRONG_TYPE).map((v) => withBody(b, v))]);
    mutations.push(["body:malformed-json", (b) => fc.constantFrom(...MALFORMED_JSON).map((text) => ({ ...b, body: { text }, contentType: "application/json" }))]);
    mutations.push(["body:wrong-content-type", (b) => fc.constantFrom(...WRONG_CONTENT_TYPES).map((ct) => ({ ...b, body: { text: JSON.stringify(baseJson(b)) }, contentType: ct || null }))]);
    mutations.push(["body:missing", (b) => fc.constantFrom(null, "application/json").map((ct) => ({ ...b, body: null, contentType: ct }))]);
    mutations.push(["body:unknown-field", (b) => fc.constantFrom("x_fuzz", "__proto__", "constructor", "id", "price", "status", "role", "user_id").map((k) => withBody(b, { ...(isRecord(baseJson(b)) ? (baseJson(b) as object) : {}), [k]: k === "__proto__" ? { polluted: true } : "fuzz" }))]);
  }
  if (props.length > 0) {
    mutations.push([
      "body:wrong-type",
      (b) => fc.constantFrom(...props).chain((p) => wrongTypeArbitrary(p.schema, doc).filter((v) => v !== NO_WRONG_TYPE).map((v) => withBody(b, setPath(baseJson(b), p.path, v)))),
    ]);
  }
  if (requiredProps.length > 0) mutations.push(["body:missing-required", (b) => fc.constantFrom(...requiredProps).map((p) => withBody(b, deletePath(baseJson(b), p.path)))]);
  if (rangedProps.length > 0) mutations.push(["body:out-of-range", (b) => fc.constantFrom(...rangedProps).chain((p) => p.bad.map((v) => withBody(b, setPath(baseJson(b), p.path, v))))]);
  if (stringProps.length > 0) {
    mutations.push(["body:odd-unicode", (b) => fc.constantFrom(...stringProps).chain((p) => oddString.map((v) => withBody(b, setPath(baseJson(b), p.path, v))))]);
    mutations.push(["body:huge-string", (b) => fc.constantFrom(...stringProps).chain((p) => fc.constantFrom(5_000, 70_000).map((n) => withBody(b, setPath(baseJson(b), p.path, "a".repeat(n)))))]);
  }
  if (o.method !== "GET" && o.method !== "HEAD") mutations.push(["body:over-64KiB", (b) => fc.constant({ ...b, body: { text: JSON.stringify({ pad: "p".repeat(MAX_BODY_BYTES + 10) }) }, contentType: "application/json" })]);
  mutations.push(["query:unknown", (b) => fc.constantFrom(...UNKNOWN_PARAMS).map((k) => ({ ...b, query: [...b.query, [k, "1"] as [string, string]] }))]);
  mutations.push(["query:malformed-encoding", (b) => fc.constantFrom("%zz=1", "a=%E0%A4%A", "%=%", "&&&", "=x", "limit=1&limit=2").map((rawQuery) => ({ ...b, rawQuery }))]);
  if (queryParams.length > 0) {
    mutations.push([
      "query:wrong-value",
      (b) =>
        fc.constantFrom(...queryParams).chain((p) =>
          fc.oneof(oddString, fc.constantFrom("", "-1", "1.5", "abc", "9".repeat(30), "TRUE", "x".repeat(300)), wrongTypeArbitrary(p.schema ?? {}, doc).map((v) => (v === NO_WRONG_TYPE ? "" : wireValues(v)[0] ?? ""))).map((v) => ({
            ...b,
            query: [...b.query.filter(([k]) => k !== p.name), [p.name, String(v)] as [string, string]],
          })),
        ),
    ]);
    mutations.push(["query:repeated", (b) => fc.constantFrom(...queryParams).map((p) => ({ ...b, query: [...b.query, [p.name, "1"] as [string, string], [p.name, "2"] as [string, string]] }))]);
  }
  if (rangedQuery.length > 0) mutations.push(["query:out-of-range", (b) => fc.constantFrom(...rangedQuery).chain(({ p, bad }) => bad.map((v) => ({ ...b, query: [...b.query.filter(([k]) => k !== p.name), [p.name, wireValues(v)[0] ?? ""] as [string, string]] })))]);
  if (pathParams.length > 0) mutations.push(["path:odd-shape", (b) => fc.constantFrom(...pathParams).chain((p) => oddSegment.map((seg) => ({ ...b, path: { ...b.path, [p.name]: seg } })))]);
  const requiredHeaders = headerParams.filter((p) => p.required);
  if (requiredHeaders.length > 0) {
    mutations.push(["header:missing", (b) => fc.constantFrom(...requiredHeaders).map((p) => ({ ...b, headers: Object.fromEntries(Object.entries(b.headers).filter(([k]) => k !== p.name)) }))]);
  }
  if (headerParams.length > 0) {
    mutations.push([
      "header:odd-value",
      (b) => fc.constantFrom(...headerParams).chain((p) => fc.constantFrom("", "x", "x".repeat(300), "é", "a b").map((v) => ({ ...b, headers: { ...b.headers, [p.name]: v } }))),
    ]);
  }
  mutations.push(["method:head", (b) => fc.constant({ ...b, kind: "method:head" })]);

  // Only the required parts (plus known values): the request most likely to succeed, so success paths are exercised.
  const minimal: fc.Arbitrary<Parts> = fc.record({ path, auth: authArbitrary }).chain((r) =>
    fc
      .tuple(
        fc.tuple(...queryParams.filter((p) => p.required).map((p) => valueArbitrary(p.schema, ctx, p.name).map((v) => wireValues(v).map((w) => [p.name, w] as [string, string])))),
        fc.tuple(...headerParams.filter((p) => p.required).map((p) => headerArbitrary(p, ctx).map((v) => [p.name, wireValues(v)[0] ?? ""] as const))),
        bodySchema === undefined ? fc.constant(null) : valueArbitrary(bodySchema, ctx).map((json) => ({ json })),
      )
      .map(([q, h, b]) => ({ kind: "valid:minimal", path: r.path, query: q.flat(), headers: Object.fromEntries(h), body: b, contentType: b === null ? null : "application/json", auth: r.auth === "none" || r.auth === "garbage" || r.auth === "malformed" ? "documented" : r.auth })),
  );

  const mutated = valid.chain((base) => fc.constantFrom(...mutations).chain(([kind, make]) => make(base).map((p) => ({ ...p, kind }))));
  return fc.oneof({ weight: 1, arbitrary: minimal }, { weight: 2, arbitrary: valid }, { weight: 7, arbitrary: mutated });
}

async function hmacHex(secret: string, text: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(text));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `s` with lone surrogates replaced by U+FFFD, as a URL or a UTF-8 body carries it (encodeURIComponent throws on them). */
export const wellFormed = (s: string): string => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

/** A distinct client address per request (so per-IP limits do not decide the run). */
const clientIp = (n: number): string => `100.${64 + ((n >> 16) & 63)}.${(n >> 8) & 255}.${(n & 255) || 1}`;

async function plan(o: Operation, index: number, generated: Parts, opts: FuzzOptions, checker: ConformanceChecker, n: number): Promise<Planned> {
  // The server sees what a URL can carry: a lone surrogate arrives as U+FFFD.
  const parts: Parts = {
    ...generated,
    path: Object.fromEntries(Object.entries(generated.path).map(([k, seg]) => [k, seg.raw ? seg : { value: wellFormed(seg.value) }])),
    query: generated.query.map(([k, v]) => [wellFormed(k), wellFormed(v)]),
  };
  let path = o.template;
  for (const [name, seg] of Object.entries(parts.path)) path = path.replace(`{${name}}`, seg.raw ? seg.value : encodeURIComponent(seg.value));
  const qs = new URLSearchParams(parts.query).toString();
  const search = [qs, parts.rawQuery ?? ""].filter(Boolean).join("&");
  const url = `${opts.origin}${path}${search ? `?${search}` : ""}`;
  const method = parts.kind === "method:head" && o.method === "GET" ? "HEAD" : o.method;
  const headers: Record<string, string> = { "cf-connecting-ip": clientIp(n), ...parts.headers };
  const body = parts.body === null ? undefined : "json" in parts.body ? JSON.stringify(parts.body.json) : parts.body.text;
  if (parts.contentType !== null && body !== undefined) headers["content-type"] = parts.contentType;
  if (parts.contentType !== null && body === undefined && parts.kind === "body:missing") headers["content-type"] = parts.contentType;
  const c = opts.credentials;
  const bearer = (t: string | undefined): Record<string, string> => (t ? { authorization: `Bearer ${t}` } : {});
  const documented = (): Record<string, string> => {
    // An operation that documents no security gets the staff token: whatever gate it may have, the request gets past it.
    if ((o.op.security ?? []).length === 0) return bearer(c.staff);
    for (const req of o.op.security ?? []) {
      const schemes = Object.keys(req);
      const out: Record<string, string> = {};
      let satisfied = true;
      for (const scheme of schemes) {
        if (scheme === "staffAuth" && c.staff) Object.assign(out, bearer(c.staff));
        else if (scheme === "bearerAuth" && c.customer) Object.assign(out, bearer(c.customer));
        else if (scheme === "cartToken" && c.cart) out["x-cart-token"] = c.cart;
        else if (scheme === "stripeSignature" && c.stripeWebhookSecret) out["stripe-signature"] = "sign";
        else satisfied = false;
      }
      if (satisfied) return out;
    }
    return {};
  };
  const auth: Record<string, string> =
    parts.auth === "documented"
      ? documented()
      : parts.auth === "staff"
        ? bearer(c.staff)
        : parts.auth === "customer"
          ? bearer(c.customer)
          : parts.auth === "cart"
            ? c.cart
              ? { "x-cart-token": c.cart }
              : {}
            : parts.auth === "garbage"
              ? { authorization: "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." }
              : parts.auth === "malformed"
                ? { authorization: "Basic Og==" }
                : {};
  if (auth["stripe-signature"] === "sign") {
    const t = Math.floor(Date.now() / 1000);
    auth["stripe-signature"] = `t=${t},v1=${await hmacHex(c.stripeWebhookSecret ?? "", `${t}.${body ?? ""}`)}`;
  }
  Object.assign(headers, auth);
  const finalPath = new URL(url).pathname;
  const rejectReason = method === "HEAD" && parts.kind === "method:head" ? null : documentRejects(checker, o, parts, finalPath, body);
  return { operation: o, index, parts, rejectReason, method, url, headers, body };
}

const excerpt = (s: string, max = 300) => (s.length > max ? `${s.slice(0, max)}…(${s.length})` : s);

function describe(p: Planned): string {
  const hs = Object.entries(p.headers)
    .filter(([k]) => k !== "cf-connecting-ip")
    .map(([k, v]) => `${k}: ${excerpt(k === "authorization" ? v.replace(/Bearer (.{6}).*/, "Bearer $1…") : v, 80)}`)
    .join("; ");
  return `${p.method} ${excerpt(p.url.replace(/^https?:\/\/[^/]+/, ""), 300)} [${hs}]${p.body === undefined ? "" : ` body=${excerpt(JSON.stringify(p.body), 300)}`}`;
}

/** Runs the fuzzer and reports (it never throws on findings: the caller asserts on the report). */
export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const checker = new ConformanceChecker(opts.doc);
  const ops = operationsOf(opts.doc).filter((o) => !opts.only || o.label.includes(opts.only));
  const perOperation: Record<string, OperationStats> = {};
  const failures: FuzzFailure[] = [];
  const planned: Planned[] = [];
  let n = 0;
  for (const o of ops) {
    perOperation[o.label] = { sent: 0, ok2xx: 0, other: {}, errors4xx: {}, errors5xx: {}, mustReject: 0 };
    const seed = (opts.seed ^ hash32(o.label)) | 0;
    const samples = fc.sample(requestArbitrary(o, opts.doc, opts.fixtures), { seed, numRuns: opts.runs });
    for (const [i, parts] of samples.entries()) planned.push(await plan(o, i, parts, opts, checker, n++));
  }
  // Round-robin over operations, so a time budget that cuts the run short cuts every operation alike.
  planned.sort((a, b) => a.index - b.index || a.operation.label.localeCompare(b.operation.label));
  const rejects = planned.filter((p) => p.rejectReason !== null);
  // Operations that end the fuzzer's own customer session go last, so every other operation keeps a live token.
  const accepted = planned.filter((p) => p.rejectReason === null);
  const others = [...accepted.filter((p) => !SESSION_ENDING.has(p.operation.label)), ...accepted.filter((p) => SESSION_ENDING.has(p.operation.label))];
  log(`fuzz: seed ${opts.seed}, ${ops.length} operations, ${planned.length} requests (${rejects.length} the document says are invalid)`);

  let stoppedEarly = false;
  const send = async (p: Planned): Promise<void> => {
    if (opts.budgetMs !== undefined && Date.now() - t0 > opts.budgetMs) {
      stoppedEarly = true;
      return;
    }
    const stats = perOperation[p.operation.label] as OperationStats;
    stats.sent++;
    if (p.rejectReason) stats.mustReject++;
    const fail = (problem: string) => failures.push({ operation: p.operation.label, index: p.index, kind: p.parts.kind, request: describe(p), problem });
    let res: Response;
    let text: string;
    try {
      res = await fetch(p.url, { method: p.method, headers: p.headers, body: p.body, redirect: "manual" });
      text = await res.text();
    } catch (e) {
      fail(`the request failed: ${String(e)}`);
      return;
    }
    const code = p.method === "HEAD" ? "(HEAD)" : errorCodeOf(text);
    const bucket = res.status >= 500 ? stats.errors5xx : res.status >= 400 ? stats.errors4xx : null;
    if (bucket) bucket[`${res.status} ${code ?? "-"}`] = (bucket[`${res.status} ${code ?? "-"}`] ?? 0) + 1;
    else if (res.status >= 200 && res.status < 300) stats.ok2xx++;
    else stats.other[String(res.status)] = (stats.other[String(res.status)] ?? 0) + 1;
    if (res.status >= 500) fail(`answered ${res.status} ${code ?? ""}: ${excerpt(text)}`);
    const violation = checker.check({ method: p.method, url: p.url, requestHeaders: p.headers, status: res.status, headers: res.headers, body: text });
    if (violation) fail(formatViolation(violation));
    if (p.rejectReason && res.status >= 200 && res.status < 300) fail(`accepted (${res.status}) a request the document says is invalid: ${p.rejectReason}`);
  };
  const runAll = async (list: Planned[]) => {
    let next = 0;
    const worker = async () => {
      while (next < list.length) await send(list[next++] as Planned);
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  };

  // First the requests that must be rejected, on a quiet store, between two snapshots; then the rest.
  const stateChanges: string[] = [];
  const settle = () => new Promise((r) => setTimeout(r, opts.settleMs ?? 2500));
  let before: Record<string, string | number> | null = null;
  if (opts.snapshot) {
    // Wait for the store to be quiet (background work of the set-up, e.g. a sign-up's email job) before the baseline.
    before = await opts.snapshot();
    for (let i = 0; i < 8; i++) {
      await settle();
      const again = await opts.snapshot();
      if (JSON.stringify(again) === JSON.stringify(before)) break;
      before = again;
    }
  }
  await runAll(rejects);
  if (opts.snapshot && before) {
    await settle();
    const after = await opts.snapshot();
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (String(before[key]) !== String(after[key])) stateChanges.push(`${key}: ${String(before[key])} → ${String(after[key])}`);
    }
  }
  await runAll(others);
  await opts.afterValid?.();
  const sent = Object.values(perOperation).reduce((s, x) => s + x.sent, 0);
  return { seed: opts.seed, perOperation, failures, stateChanges, sent, elapsedMs: Date.now() - t0, stoppedEarly };
}

/** The report as text: per operation sent / 2xx / 4xx by code / 5xx, totals, state changes and failures. */
export function formatReport(report: FuzzReport, maxFailures = 20): string {
  const lines: string[] = [];
  const fmt = (m: Record<string, number>) =>
    Object.entries(m)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}×${v}`)
      .join(" ");
  const width = Math.max(...Object.keys(report.perOperation).map((k) => k.length), 10);
  lines.push(`${"operation".padEnd(width)}  sent  2xx  must-reject  4xx by code / 5xx`);
  const totals = { sent: 0, ok: 0, c4: 0, c5: 0, mr: 0 };
  for (const [label, s] of Object.entries(report.perOperation)) {
    const c4 = Object.values(s.errors4xx).reduce((a, b) => a + b, 0);
    const c5 = Object.values(s.errors5xx).reduce((a, b) => a + b, 0);
    totals.sent += s.sent;
    totals.ok += s.ok2xx;
    totals.c4 += c4;
    totals.c5 += c5;
    totals.mr += s.mustReject;
    const other = Object.keys(s.other).length > 0 ? ` other: ${fmt(s.other)}` : "";
    lines.push(`${label.padEnd(width)}  ${String(s.sent).padStart(4)}  ${String(s.ok2xx).padStart(3)}  ${String(s.mustReject).padStart(11)}  ${fmt(s.errors4xx)}${c5 > 0 ? ` | 5xx: ${fmt(s.errors5xx)}` : ""}${other}`);
  }
  lines.push(
    `total: ${totals.sent} sent, ${totals.ok} 2xx, ${totals.c4} 4xx, ${totals.c5} 5xx, ${totals.mr} must-reject; ${report.failures.length} failures; ${report.stateChanges.length} state changes; ${report.elapsedMs} ms${report.stoppedEarly ? " (stopped at the time budget)" : ""}; seed ${report.seed}`,
  );
  if (report.stateChanges.length > 0) lines.push("state changed by requests that must be rejected:", ...report.stateChanges.map((s) => `  ${s}`));
  // One entry per distinct problem of an operation (request ids, numbers and bodies differ between occurrences).
  const groups = new Map<string, { first: FuzzFailure; count: number; kinds: Set<string> }>();
  for (const f of report.failures) {
    const key = `${f.operation}|${f.problem
      .split("\n")
      .filter((l) => !l.trimStart().startsWith("body:") && !l.startsWith("Response does not conform"))
      .join("|")
      .replace(/\d+/g, "N")}`;
    const g = groups.get(key);
    if (g) {
      g.count++;
      g.kinds.add(f.kind);
    } else groups.set(key, { first: f, count: 1, kinds: new Set([f.kind]) });
  }
  if (groups.size > 0) lines.push(`${report.failures.length} failures, ${groups.size} distinct:`);
  for (const { first: f, count, kinds } of [...groups.values()].slice(0, maxFailures)) {
    lines.push(`FAIL ×${count} ${f.operation} (${[...kinds].join(", ")}); e.g. #${f.index}: ${f.request}\n  ${f.problem.replaceAll("\n", "\n  ")}`);
  }
  if (groups.size > maxFailures) lines.push(`… and ${groups.size - maxFailures} more distinct failures`);
  return lines.join("\n");
}
