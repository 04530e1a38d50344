/**
 * Machine checks of the OpenAPI document and of the route table it is generated from. Pure functions over plain
 * data, so the tests can run them on the real app and on deliberately broken fixtures alike.
 */
import type { JsonSchema, OpenApiDocument, OperationObject } from "../support/conformance";
import { HTTP_METHODS } from "../support/conformance";

/** One Hono route entry (`app.routes`). */
export interface RouteEntry {
  method: string;
  path: string;
}

/** Hono's `/a/:id` (or `/a/:id{[0-9]+}`) in OpenAPI's form, `/a/{id}`. */
export const openApiPath = (honoPath: string): string => honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");

/** `METHOD /path` for every real route (method ALL is middleware; HEAD is implied by GET). */
export function routeOperations(routes: readonly RouteEntry[]): string[] {
  const ops = new Set(routes.filter((r) => r.method !== "ALL").map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`));
  for (const op of [...ops]) if (op.startsWith("HEAD ") && ops.has(`GET ${op.slice(5)}`)) ops.delete(op);
  return [...ops].sort();
}

/** `METHOD /path` for every documented operation. */
export function documentOperations(doc: OpenApiDocument): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const m of HTTP_METHODS) if (item[m]) out.push(`${m.toUpperCase()} ${path}`);
  }
  return out.sort();
}

/** Routes the document lacks, and documented operations no route serves. */
export function compareRouteTable(routes: readonly RouteEntry[], doc: OpenApiDocument): { undocumented: string[]; phantom: string[] } {
  const served = routeOperations(routes);
  const documented = documentOperations(doc);
  const servedSet = new Set(served);
  const documentedSet = new Set(documented);
  return { undocumented: served.filter((o) => !documentedSet.has(o)), phantom: documented.filter((o) => !servedSet.has(o)) };
}

/**
 * Error statuses that are deliberately not the envelope, with the reason. Anything else at 4xx/5xx must be the
 * envelope of the codes the operation lists for that status.
 */
export const NON_ENVELOPE_ERRORS: Record<string, string> = {
  "GET /readyz 503": "readiness reports its checks when the primary is down (a monitoring body, not an error)",
  "POST /checkout 422": "the storefront's checkout form again, with what to fix (an HTML page, not an error envelope)",
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A schema without its annotations (descriptions, examples), for structural comparison. */
function bare(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(bare);
  if (!isRecord(schema)) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k]) => !["description", "title", "example", "examples"].includes(k))
      .map(([k, v]) => [k, bare(v)]),
  );
}

const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, val: unknown) => (isRecord(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => a.localeCompare(b))) : val));

/** The envelope an error response with `codes` must have, exactly. */
export function expectedEnvelope(codes: readonly string[]): JsonSchema {
  return {
    type: "object",
    properties: {
      error: {
        type: "object",
        properties: { code: { type: "string", enum: [...codes].sort() }, message: { type: "string" }, details: {}, request_id: { type: ["string", "null"] } },
        required: ["code", "message", "request_id"],
      },
    },
    required: ["error"],
  };
}

/** Every `pattern` in the document: where it is and its text. */
function patternsOf(node: unknown, where: string, out: { where: string; pattern: string }[] = []): { where: string; pattern: string }[] {
  if (Array.isArray(node)) node.forEach((n, i) => patternsOf(n, `${where}/${i}`, out));
  else if (isRecord(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === "pattern" && typeof v === "string") out.push({ where, pattern: v });
      else if (k !== "example" && k !== "examples") patternsOf(v, `${where}/${k}`, out);
    }
  }
  return out;
}

/**
 * `allOf: [{ $ref }, { type: [..., "null"] }]`: how zod-to-openapi writes `X.nullable()` for a schema X with a
 * `.meta({ id })` — and null can never validate it (the referenced object schema refuses null). The sound spelling is
 * `z.union([X, z.null()])` (anyOf). Returns where each one is.
 */
function unsatisfiableNullables(node: unknown, where: string, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n, i) => unsatisfiableNullables(n, `${where}/${i}`, out));
  else if (isRecord(node)) {
    const all = node.allOf;
    if (
      Array.isArray(all) &&
      all.some((b) => isRecord(b) && typeof b.$ref === "string") &&
      all.some((b) => isRecord(b) && Array.isArray(b.type) && b.type.includes("null"))
    ) {
      out.push(where);
    }
    for (const [k, v] of Object.entries(node)) if (k !== "example" && k !== "examples") unsatisfiableNullables(v, `${where}/${k}`, out);
  }
  return out;
}

/**
 * The rules every operation of the document must follow; returns one line per breach ([] when the document is sound).
 * `registry` is the error-code table (code → status).
 */
export function documentProblems(doc: OpenApiDocument, registry: Record<string, { status: number }>): string[] {
  const problems: string[] = [];
  const tagNames = new Set((doc.tags ?? []).map((t) => t.name));
  const schemes = new Set(Object.keys((doc.components?.securitySchemes as Record<string, unknown> | undefined) ?? {}));
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const m of HTTP_METHODS) {
      const op: OperationObject | undefined = item[m];
      if (!op) continue;
      const label = `${m.toUpperCase()} ${path}`;
      const p = (text: string) => problems.push(`${label}: ${text}`);
      if (!op.summary?.trim()) p("no summary");
      if (op.tags?.length !== 1) p(`needs exactly one tag, has ${JSON.stringify(op.tags ?? [])}`);
      else if (!tagNames.has(op.tags[0] ?? "")) p(`tag ${op.tags[0]} is not in the document's tag list`);
      const responses = op.responses ?? {};
      // A storefront form's success is its 303 to a page (Post/Redirect/Get).
      const formPost = op.tags?.[0] === "storefront" && m === "post" && "303" in responses;
      if (!formPost && !Object.keys(responses).some((s) => /^2\d\d$/.test(s))) p("no 2xx response");
      const codes = op["x-error-codes"];
      if (!Array.isArray(codes)) {
        p("no x-error-codes");
        continue;
      }
      const byStatus = new Map<string, string[]>();
      for (const code of codes) {
        const def = registry[code];
        if (!def) {
          p(`x-error-codes has ${code}, which is not in the error-code registry`);
          continue;
        }
        byStatus.set(String(def.status), [...(byStatus.get(String(def.status)) ?? []), code]);
      }
      for (const [status, list] of byStatus) {
        const res = responses[status];
        if (!res) {
          p(`codes ${list.join(", ")} have status ${status}, which is not documented`);
          continue;
        }
        const schema = res.content?.["application/json"]?.schema;
        if (canonical(bare(schema)) !== canonical(expectedEnvelope(list))) {
          p(`${status} is not the error envelope of exactly ${list.join(", ")}: ${JSON.stringify(bare(schema)).slice(0, 300)}`);
        }
      }
      for (const status of Object.keys(responses)) {
        if (Number(status) >= 400 && !byStatus.has(status) && !NON_ENVELOPE_ERRORS[`${label} ${status}`]) {
          p(`documents ${status}, but none of its x-error-codes has that status`);
        }
      }
      for (const name of [...path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1] ?? "")) {
        const param = (op.parameters ?? []).find((q) => q.in === "path" && q.name === name);
        if (!param) p(`path parameter {${name}} is not declared`);
        else if (param.required !== true) p(`path parameter {${name}} is not required`);
      }
      for (const req of op.security ?? []) {
        for (const scheme of Object.keys(req)) if (!schemes.has(scheme)) p(`security scheme ${scheme} is not defined`);
      }
      if (path.startsWith("/v1/admin/")) {
        if (!(op.security ?? []).some((req) => "staffAuth" in req)) p("staff operation without staffAuth security");
        for (const code of ["UNAUTHORIZED", "FORBIDDEN"]) if (!codes.includes(code)) p(`staff operation whose x-error-codes lack ${code}`);
      }
    }
  }
  for (const where of unsatisfiableNullables(doc, "#")) {
    problems.push(`${where}: a nullable $ref written as allOf [$ref, {type: [.., "null"]}] never accepts null (X.nullable() of a schema with an id; use z.union([X, z.null()]))`);
  }
  for (const { where, pattern } of patternsOf(doc, "#")) {
    try {
      new RegExp(pattern, "u");
    } catch (e) {
      problems.push(`${where}: pattern ${pattern} does not compile as a Unicode regular expression (${String(e)})`);
      continue;
    }
    if (/(?<!\\)\/[dgimsuvy]+$/.test(pattern)) problems.push(`${where}: pattern ${pattern} ends in regex flags (a serialised /…/flags literal)`);
  }
  return problems;
}

/** What the deployed document must not contain: the /dev routes and the dev tag. */
export function deployedProblems(doc: OpenApiDocument): string[] {
  const problems: string[] = [];
  for (const path of Object.keys(doc.paths ?? {})) if (path === "/dev" || path.startsWith("/dev/")) problems.push(`deployed document has ${path}`);
  if ((doc.tags ?? []).some((t) => t.name === "dev")) problems.push("deployed document lists the dev tag");
  for (const op of documentOperations(doc)) {
    const [method, path] = op.split(" ") as [string, string];
    const tags = doc.paths?.[path]?.[method.toLowerCase() as (typeof HTTP_METHODS)[number]]?.tags ?? [];
    if (tags.includes("dev")) problems.push(`deployed document has ${op} tagged dev`);
  }
  return problems;
}
