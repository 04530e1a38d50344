/**
 * The OpenAPI 3.1 document of an app, generated from its route declarations (never written by hand), and the
 * `GET /openapi.json` route that serves it: built once per isolate and app, with a strong ETag.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "./context";
import { API_TAGS, SECURITY_SCHEMES, apiRoute } from "./openapi";
import { ERROR_CODES } from "./error-codes";

export const API_VERSION = "1.0.0";

type Document = ReturnType<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>;

const DESCRIPTION = `NexusBooks: an edge commerce API (catalog, search, carts, checkout, orders, accounts, staff operations).

Success bodies are \`{ "data": … }\` (lists add \`page\`). Every error is one envelope,
\`{ "error": { "code", "message", "details", "request_id" } }\`; each operation lists the exact codes it can answer
with, by status, and \`x-error-codes\` lists them all. The full code table is \`x-error-registry\` at the top level.

Unknown query parameters and body fields are refused (400), client prices and statuses are never read, and another
customer's objects answer 404.`;

/**
 * zod-to-openapi writes a regex's pattern as `regex.toString()` minus the slashes, so `/^…$/u` comes out as `^…$/u`
 * (a pattern no string matches as intended). JSON Schema patterns are Unicode regular expressions already, so the `u`
 * (or `v`) flag is dropped; any other flag has no JSON Schema equivalent and is left for the document test to refuse.
 */
function fixPatternFlags<T>(node: T): T {
  if (Array.isArray(node)) return node.map(fixPatternFlags) as T;
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === "pattern" && typeof v === "string" ? v.replace(/(?<!\\)\/[uv]$/, "") : fixPatternFlags(v)]),
  ) as T;
}

/** Generates the document of `app` (its own routes: the deployed app has no /dev routes, so its document neither). */
export function buildDocument(app: OpenAPIHono<AppEnv>, opts: { devRoutes: boolean }): Document {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  const tags = Object.entries(API_TAGS)
    .filter(([name]) => opts.devRoutes || name !== "dev")
    .map(([name, description]) => ({ name, description }));
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "NexusBooks API", version: API_VERSION, description: DESCRIPTION, license: { name: "Proprietary" } },
    servers: [{ url: "/", description: "This deployment" }],
    tags,
  });
  return { ...fixPatternFlags(doc), "x-error-registry": ERROR_CODES };
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const openApiRoute = apiRoute({
  method: "get",
  path: "/openapi.json",
  tags: ["meta"],
  summary: "This API's OpenAPI 3.1 document",
  request: { query: z.strictObject({}) },
  responses: {
    200: {
      description: "The document (generated from the route declarations).",
      headers: z.object({ ETag: z.string(), "Cache-Control": z.string() }),
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
    },
    304: { description: "Not modified.", headers: z.object({ ETag: z.string() }) },
  },
});

/**
 * Adds `GET /openapi.json` to `app`. The document is generated on first request (when every route is registered)
 * and kept for the isolate's life: it only changes with a deploy.
 */
export function serveDocument(app: OpenAPIHono<AppEnv>, opts: { devRoutes: boolean }): void {
  let cached: { body: string; etag: string } | null = null;
  app.openapi(openApiRoute, async (c) => {
    if (!cached) {
      const body = JSON.stringify(buildDocument(app, opts));
      cached = { body, etag: `"${(await sha256Hex(body)).slice(0, 32)}"` };
    }
    c.header("ETag", cached.etag);
    c.header("Cache-Control", "public, max-age=300");
    if (c.req.header("if-none-match") === cached.etag) return c.body(null, 304);
    return c.body(cached.body, 200, { "Content-Type": "application/json; charset=utf-8" });
  });
}
