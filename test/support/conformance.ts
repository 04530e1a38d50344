/**
 * The response conformance check: does an answer of the API match its OpenAPI 3.1 document exactly?
 *
 * Given the request (method, path) and the response (status, headers, body text), the checker finds the documented
 * operation (path templates match one segment per `{param}`, literal segments win over templates), requires the status
 * to be documented for it (paths without an operation may only answer the 404 ROUTE_NOT_FOUND / 405
 * METHOD_NOT_ALLOWED envelope, or a code of the middleware that runs before routing), the content type to be a
 * documented one, the documented required headers to be present, and a JSON body to validate against the documented
 * schema in STRICT mode: every object schema that does not say otherwise is closed, so an undocumented field fails.
 * Error envelopes must carry a code the operation documents for that status.
 *
 * Runtime-neutral (standard web APIs only): used inside workerd by the worker and security suites and from Node by
 * the HTTP tests and the fuzzer.
 */
import { Validator } from "@cfworker/json-schema";
import type { OutputUnit, Schema } from "@cfworker/json-schema";

/** A JSON Schema node as the document holds it (2020-12, OpenAPI 3.1 dialect). */
export type JsonSchema = { [key: string]: unknown } | boolean;

export interface MediaTypeObject {
  schema?: JsonSchema;
}

export interface HeaderObject {
  required?: boolean;
  schema?: JsonSchema;
}

export interface ResponseObject {
  description?: string;
  headers?: Record<string, HeaderObject>;
  content?: Record<string, MediaTypeObject>;
}

export interface ParameterObject {
  name: string;
  in: "query" | "path" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
}

export interface OperationObject {
  tags?: string[];
  summary?: string;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content?: Record<string, MediaTypeObject> };
  responses?: Record<string, ResponseObject>;
  security?: Record<string, string[]>[];
  "x-error-codes"?: string[];
}

/** What `new Headers()` takes (spelled out: Node's typings have no global HeadersLike). */
export type HeadersLike = ConstructorParameters<typeof Headers>[0];

export const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface OpenApiDocument {
  openapi?: string;
  tags?: { name: string; description?: string }[];
  paths?: Record<string, Partial<Record<HttpMethod, OperationObject>>>;
  components?: { schemas?: Record<string, JsonSchema>; [key: string]: unknown };
  "x-error-registry"?: Record<string, { status: number; message?: string; docs?: string }>;
}

/** What the checker needs to know about one exchange. */
export interface Exchange {
  method: string;
  /** Path (and optionally query) as requested, or a full URL. */
  url: string;
  requestHeaders?: HeadersLike | undefined;
  status: number;
  headers: Headers;
  /** The body as text ("" when there is none). */
  body: string;
}

export interface Violation {
  /** `operation GET /v1/products/{slug}`, `no documented path`, or `DELETE not documented on /healthz`. */
  operation: string;
  status: number;
  problems: string[];
  bodyExcerpt: string;
  request: string;
}

/** Middleware codes that can answer before routing, so even a path without an operation may carry them. */
export const PRE_ROUTING_CODES = ["INVALID_TOKEN", "TOKEN_REVOKED", "RATE_LIMITED", "PAYLOAD_TOO_LARGE", "CONFIG_INVALID", "INTERNAL_ERROR"] as const;

const BUNDLE_URI = "https://nexusbooks.test/openapi-components";
const COMPONENT_REF = "#/components/schemas/";
/** OpenAPI and annotation keywords that do not validate (and whose values must not be mistaken for schemas). */
const ANNOTATIONS = new Set(["description", "title", "example", "examples", "deprecated", "readOnly", "writeOnly", "discriminator", "xml", "externalDocs", "$comment", "$id", "id"]);
const SUBSCHEMA = ["items", "additionalItems", "unevaluatedItems", "contains", "propertyNames", "not", "if", "then", "else", "additionalProperties", "unevaluatedProperties"];
const SUBSCHEMA_MAPS = ["properties", "patternProperties", "$defs", "dependentSchemas"];
const COMPOSITIONS = ["allOf", "anyOf", "oneOf"];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The key of a component in the bundle: its name hex-encoded, so any name (with `:`, `/`, `~`, non-ASCII) is one plain
 * JSON-pointer segment that needs no escaping and no URI normalisation.
 */
const bundleKey = (form: string, name: string): string =>
  `${form}-${[...new TextEncoder().encode(name)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

const isObjectish = (s: Record<string, unknown>): boolean =>
  s.type === "object" || (Array.isArray(s.type) && s.type.includes("object")) || isRecord(s.properties) || Array.isArray(s.required);

/** How a schema is prepared: strict-closed, strict-open (inside a composition), or as the document says. */
type Form = "closed" | "open" | "asis";

/**
 * A copy of `schema` for validation: refs point into the component bundle, annotations are dropped, and in the strict
 * forms an object schema that says nothing about extra keys is closed (`closed`) — with `additionalProperties: false`
 * when it stands alone, or with `unevaluatedProperties: false` when it composes (`allOf`/`anyOf`/`oneOf`/`$ref` with
 * siblings), whose branches are then prepared `open` so that the properties every branch evaluates count. `asis` keeps
 * the document's own rules (for checking requests the way the API should judge them).
 */
export function prepareSchema(schema: JsonSchema, form: Form = "closed"): JsonSchema {
  if (!isRecord(schema)) return schema;
  const inner: Form = form === "asis" ? "asis" : "closed";
  const branch: Form = form === "asis" ? "asis" : "open";
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key) || key.startsWith("x-")) continue;
    if (SUBSCHEMA.includes(key) && (isRecord(value) || typeof value === "boolean")) out[key] = prepareSchema(value, inner);
    else if (SUBSCHEMA_MAPS.includes(key) && isRecord(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, prepareSchema(v as JsonSchema, inner)]));
    } else if (key === "prefixItems" && Array.isArray(value)) out[key] = value.map((v) => prepareSchema(v as JsonSchema, inner));
    else if (COMPOSITIONS.includes(key) && Array.isArray(value)) out[key] = value.map((v) => prepareSchema(v as JsonSchema, branch));
    else out[key] = value;
  }
  const composes = COMPOSITIONS.some((k) => Array.isArray(schema[k]));
  const ref = typeof schema.$ref === "string" ? schema.$ref : null;
  if (ref?.startsWith(COMPONENT_REF)) {
    // A bare `$ref` takes the component in this same form; one with sibling keywords composes, so takes it open.
    const bare = Object.keys(out).every((k) => k === "$ref");
    const target: Form = form === "asis" ? "asis" : bare ? form : "open";
    out.$ref = `${BUNDLE_URI}#/$defs/${bundleKey(target, decodeURIComponent(ref.slice(COMPONENT_REF.length)))}`;
    if (bare) return out;
  }
  if (form === "closed" && out.additionalProperties === undefined && out.unevaluatedProperties === undefined) {
    if (composes || ref) out.unevaluatedProperties = false;
    else if (isObjectish(schema)) out.additionalProperties = false;
  }
  return out;
}

/** The document's component schemas in every form, as one schema resource the validators resolve refs against. */
function componentBundle(doc: OpenApiDocument): Schema {
  const defs: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
    for (const form of ["closed", "open", "asis"] as const) defs[bundleKey(form, name)] = prepareSchema(schema, form);
  }
  return { $id: BUNDLE_URI, $defs: defs };
}

/** A documented path, split into segments: a literal, or null for a `{param}` (exactly one non-empty segment). */
interface PathTemplate {
  template: string;
  segments: (string | null)[];
}

const splitPath = (path: string): string[] => path.split("/").slice(1);

function decodePath(path: string): string {
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

/** The summary of a failed validation: the innermost errors, at most `max`. */
function describeErrors(errors: readonly OutputUnit[], max = 5): string[] {
  const wrappers = new Set(["$ref", "properties", "items", "prefixItems", "allOf", "anyOf", "oneOf", "additionalProperties", "unevaluatedProperties", "patternProperties"]);
  const leaves = errors.filter((e) => !wrappers.has(e.keyword) || /^Property "[^"]*" does not match (additional|unevaluated) properties schema\.$/.test(e.error));
  const chosen = (leaves.length > 0 ? leaves : errors).filter((e) => e.error !== "False boolean schema.");
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of chosen) {
    let text = `${e.instanceLocation || "#"}: ${e.error}`;
    if (/does not match (additional|unevaluated) properties schema/.test(e.error)) text = `${e.instanceLocation || "#"}: undocumented field ${/"([^"]*)"/.exec(e.error)?.[1] ?? "?"}`;
    if (seen.has(text)) continue;
    seen.add(text);
    out.push(text);
    if (out.length >= max) break;
  }
  return out;
}

const excerpt = (body: string, max = 400): string => (body.length > max ? `${body.slice(0, max)}… (${body.length} chars)` : body);

const mediaType = (contentType: string | null): string => (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";

/** The error envelope for a path without an operation (the app's 404/405 and the pre-routing middleware). */
function envelopeSchema(codes: readonly string[]): JsonSchema {
  return {
    type: "object",
    properties: {
      error: {
        type: "object",
        properties: { code: { type: "string", enum: [...codes] }, message: { type: "string" }, details: {}, request_id: { type: ["string", "null"] } },
        required: ["code", "message", "request_id"],
      },
    },
    required: ["error"],
  };
}

export type OperationMatch =
  | { kind: "operation"; template: string; method: HttpMethod; operation: OperationObject }
  | { kind: "method-not-documented"; template: string; documented: HttpMethod[] }
  | { kind: "no-path" };

export interface CheckerOptions {
  /** Close undocumented fields (default true). */
  strict?: boolean;
}

/** Checks exchanges against one document. Validators are compiled on first use and kept. */
export class ConformanceChecker {
  readonly doc: OpenApiDocument;
  private readonly strict: boolean;
  private readonly templates: PathTemplate[];
  private readonly bundle: Schema;
  private readonly validators = new Map<string, Validator>();
  private readonly registry: Record<string, { status: number }>;

  constructor(doc: OpenApiDocument, opts: CheckerOptions = {}) {
    this.doc = doc;
    this.strict = opts.strict ?? true;
    this.bundle = componentBundle(doc);
    this.registry = doc["x-error-registry"] ?? {};
    // Literal segments first (left to right), so /v1/products/by-isbn/{isbn} is tried before /v1/products/{slug}.
    this.templates = Object.keys(doc.paths ?? {})
      .map((template) => ({ template, segments: splitPath(template).map((s) => (/^\{[^}]+\}$/.test(s) ? null : s)) }))
      .sort((a, b) => {
        for (let i = 0; i < Math.min(a.segments.length, b.segments.length); i++) {
          const la = a.segments[i] !== null;
          const lb = b.segments[i] !== null;
          if (la !== lb) return la ? -1 : 1;
        }
        return a.segments.length - b.segments.length;
      });
  }

  /** The documented template a concrete path falls under, or null. */
  matchTemplate(path: string): string | null {
    const segments = splitPath(decodePath(path));
    const hit = this.templates.find(
      (t) => t.segments.length === segments.length && t.segments.every((s, i) => (s === null ? (segments[i] ?? "") !== "" : s === segments[i])),
    );
    return hit?.template ?? null;
  }

  /** The operation that answers `method path` according to the document (HEAD is answered by GET). */
  findOperation(method: string, path: string): OperationMatch {
    const template = this.matchTemplate(path);
    if (template === null) return { kind: "no-path" };
    const item = this.doc.paths?.[template] ?? {};
    const m = method.toLowerCase() as HttpMethod;
    const operation = item[m] ?? (m === "head" ? item.get : undefined);
    if (operation) return { kind: "operation", template, method: m, operation };
    return { kind: "method-not-documented", template, documented: HTTP_METHODS.filter((x) => item[x] !== undefined) };
  }

  /**
   * Validates `value` against `schema`: strict (undocumented fields fail) unless `asis`, which applies the document's
   * own rules. The innermost errors, or [] when valid. `cacheKey` keeps the compiled validator.
   */
  validate(schema: JsonSchema, value: unknown, opts: { asis?: boolean; cacheKey?: string } = {}): string[] {
    const form: Form = opts.asis || !this.strict ? "asis" : "closed";
    const key = opts.cacheKey === undefined ? undefined : `${form}:${opts.cacheKey}`;
    let validator = key === undefined ? undefined : this.validators.get(key);
    if (!validator) {
      validator = new Validator(prepareSchema(schema, form), "2020-12", false);
      validator.addSchema(this.bundle);
      if (key !== undefined) this.validators.set(key, validator);
    }
    const result = validator.validate(value);
    return result.valid ? [] : describeErrors(result.errors);
  }

  /** The problems of one exchange ([] when it conforms). */
  problems(x: Exchange): { operation: string; problems: string[] } {
    const url = new URL(x.url, "http://conformance.invalid");
    const method = x.method.toUpperCase();
    const requestHeaders = new Headers(x.requestHeaders);
    const match = this.findOperation(method, url.pathname);
    const problems: string[] = [];
    const ctype = mediaType(x.headers.get("content-type"));
    const isHead = method === "HEAD";

    if (match.kind !== "operation") {
      const label = match.kind === "no-path" ? "no documented path" : `${method} not documented on ${match.template}`;
      // A CORS preflight is answered by the CORS middleware before routing, on any path.
      if (method === "OPTIONS" && requestHeaders.has("access-control-request-method") && x.status === 204) return { operation: label, problems };
      const allowedCodes: string[] = [...PRE_ROUTING_CODES, ...(match.kind === "no-path" ? ["ROUTE_NOT_FOUND"] : ["METHOD_NOT_ALLOWED"])];
      const codes = allowedCodes.filter((c) => this.registry[c]?.status === x.status || this.registry[c] === undefined);
      if (x.status === 405 && match.kind === "no-path") {
        problems.push(`405 on a path the document does not have (expected 404 ROUTE_NOT_FOUND)`);
        return { operation: label, problems };
      }
      if (x.status < 400 || codes.length === 0) {
        problems.push(
          match.kind === "no-path"
            ? `status ${x.status}: no operation is documented for this path (only 404 ROUTE_NOT_FOUND may answer it)`
            : `status ${x.status}: ${method} is not documented on ${match.template} (documented: ${match.documented.map((m) => m.toUpperCase()).join(", ")}; only 405 METHOD_NOT_ALLOWED may answer it)`,
        );
        return { operation: label, problems };
      }
      if (!isHead) problems.push(...this.checkJsonBody(x, ctype, envelopeSchema(codes), `envelope:${codes.join(",")}`));
      if (x.status === 405 && match.kind === "method-not-documented") {
        const allow = (x.headers.get("allow") ?? "").split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
        const expected = match.documented.map((m) => m.toUpperCase());
        if (expected.includes("GET") && !expected.includes("HEAD")) expected.push("HEAD");
        if (allow.includes(method)) problems.push(`405 whose Allow header (${allow.join(", ")}) includes the request's own method ${method}`);
        const missing = expected.filter((m) => !allow.includes(m));
        const extra = allow.filter((m) => !expected.includes(m));
        if (missing.length > 0 || extra.length > 0) {
          problems.push(`Allow "${allow.join(", ")}" differs from the documented methods of ${match.template} (${expected.join(", ")})`);
        }
      }
      return { operation: label, problems };
    }

    const opLabel = `operation ${match.method === "head" ? "HEAD" : method} ${match.template}`;
    const responses = match.operation.responses ?? {};
    const response = responses[String(x.status)] ?? responses[`${String(x.status)[0]}XX`] ?? responses.default;
    if (!response) {
      problems.push(`status ${x.status} is not documented (documented: ${Object.keys(responses).join(", ")})`);
      const code = errorCodeOf(x.body);
      if (code) problems.push(`(its error code is ${code})`);
      return { operation: opLabel, problems };
    }
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      if (header.required && !x.headers.has(name)) problems.push(`documented required header ${name} is missing`);
    }
    const content = response.content ?? {};
    const types = Object.keys(content);
    if (types.length === 0) {
      if (x.body.length > 0) problems.push(`status ${x.status} is documented without a body, but ${x.body.length} bytes were sent`);
      return { operation: opLabel, problems };
    }
    if (isHead) {
      if (x.body.length > 0) problems.push("a HEAD answer has a body");
      if (ctype && !types.includes(ctype)) problems.push(`content type ${ctype} is not documented (documented: ${types.join(", ")})`);
      return { operation: opLabel, problems };
    }
    if (!types.includes(ctype)) {
      problems.push(`content type ${ctype || "(none)"} is not documented (documented: ${types.join(", ")})`);
      return { operation: opLabel, problems };
    }
    const schema = content[ctype]?.schema;
    if (ctype === "application/json" || ctype.endsWith("+json")) {
      if (schema !== undefined) problems.push(...this.checkJsonBody(x, ctype, schema, `${opLabel} ${x.status} ${ctype}`));
      if (x.status >= 400) {
        const code = errorCodeOf(x.body);
        if (code !== null) {
          const documented = match.operation["x-error-codes"] ?? [];
          if (!documented.includes(code)) problems.push(`error code ${code} is not in the operation's x-error-codes`);
          const registered = this.registry[code]?.status;
          if (registered !== undefined && registered !== x.status) problems.push(`error code ${code} is registered with status ${registered}, answered with ${x.status}`);
        }
      }
    }
    return { operation: opLabel, problems };
  }

  private checkJsonBody(x: Exchange, ctype: string, schema: JsonSchema, cacheKey: string): string[] {
    if (ctype !== "application/json" && !ctype.endsWith("+json")) return [`content type ${ctype || "(none)"}, expected application/json`];
    let value: unknown;
    try {
      value = JSON.parse(x.body);
    } catch {
      return [`the body is not JSON`];
    }
    return this.validate(schema, value, { cacheKey }).map((e) => `schema: ${e}`);
  }

  /** The violation of one exchange, or null when it conforms. */
  check(x: Exchange): Violation | null {
    const { operation, problems } = this.problems(x);
    if (problems.length === 0) return null;
    const url = new URL(x.url, "http://conformance.invalid");
    return { operation, status: x.status, problems, bodyExcerpt: excerpt(x.body), request: `${x.method.toUpperCase()} ${url.pathname}${url.search}` };
  }
}

/** `error.code` of an envelope body, or null. */
export function errorCodeOf(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.code === "string") return parsed.error.code;
  } catch {
    // not JSON
  }
  return null;
}

/** The message a failing test shows: the operation, the status, each problem and the start of the body. */
export function formatViolation(v: Violation): string {
  return [
    `Response does not conform to the OpenAPI document: ${v.request} → ${v.status} (${v.operation})`,
    ...v.problems.map((p) => `  - ${p}`),
    `  body: ${v.bodyExcerpt || "(empty)"}`,
  ].join("\n");
}

/** Reads what the checker needs from a Response without consuming it (the caller still reads the original). */
export async function exchangeOf(method: string, url: string, res: Response, requestHeaders?: HeadersLike): Promise<Exchange> {
  const body = res.body === null ? "" : await res.clone().text();
  return { method, url, requestHeaders, status: res.status, headers: res.headers, body };
}

/** Throws with a readable message when the exchange does not conform. */
export function assertExchange(checker: ConformanceChecker, x: Exchange): void {
  const v = checker.check(x);
  if (v) throw new Error(formatViolation(v));
}

/** Checks a Response (its clone is read) and throws on a violation. */
export async function assertConforms(checker: ConformanceChecker, method: string, url: string, res: Response, requestHeaders?: HeadersLike): Promise<void> {
  assertExchange(checker, await exchangeOf(method, url, res, requestHeaders));
}
