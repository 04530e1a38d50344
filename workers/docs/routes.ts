/**
 * The front door (GET /), the interactive API reference (GET /docs: Swagger UI on /openapi.json) and the files the
 * two pages load (GET /docs/assets/{file}, from the Worker's static assets: public/docs/assets/).
 *
 * Everything is served by this Worker from this origin: the pages make no request elsewhere. Each page has its own
 * CSP allowing just what it loads; every other route keeps the API's `default-src 'none'` (platform/security.ts).
 */
import { z } from "zod";
import { accepts } from "hono/accepts";
import { AppError } from "../platform/errors";
import { apiRoute, apiRouter, empty, ok, prebuilt } from "../platform/openapi";
import { API_VERSION } from "../platform/openapi-document";
import { pageContentSecurityPolicy } from "../platform/security";
import { docsPage, frontDoorPage } from "./pages";
import { frontDoorSchema } from "./response-schemas";
import type { FrontDoor } from "./response-schemas";

const TITLE = "NexusBooks API";

/**
 * The front door's links. TODO(storefront): set `storefront` to the storefront's URL once it exists (the JSON
 * field and the HTML link appear with it; the schema already allows a string).
 */
const FRONT_DOOR: FrontDoor = {
  name: TITLE,
  version: API_VERSION,
  links: { docs: "/docs", openapi: "/openapi.json", readyz: "/readyz", storefront: null },
};

/** Swagger UI: its bundle and initializer, its stylesheet and the SVG icons that stylesheet inlines, the document. */
const docsCsp = pageContentSecurityPolicy({
  "default-src": ["'none'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "img-src": ["'self'", "data:"],
  "connect-src": ["'self'"],
  "base-uri": ["'none'"],
  "form-action": ["'none'"],
});

/** The front door loads one stylesheet and the favicon. */
const frontDoorCsp = pageContentSecurityPolicy({
  "default-src": ["'none'"],
  "style-src": ["'self'"],
  "img-src": ["'self'"],
  "base-uri": ["'none'"],
  "form-action": ["'none'"],
});

const html = (description: string) => ({ "text/html": { schema: z.string().meta({ description }) } });
/** The platform's declaration of these response headers (plus X-Request-Id), for responses that are not `ok(...)`. */
const headersOf = (names: Parameters<typeof empty>[1]) => empty("", names).headers;
const noQuery = z.strictObject({});

const frontDoorJson = ok(frontDoorSchema, "The front door: JSON when `Accept` prefers `application/json`, HTML otherwise.", {
  headers: ["Cache-Control"],
});

const frontDoor = apiRoute({
  method: "get",
  path: "/",
  tags: ["meta"],
  summary: "The front door: what this is, with links to the reference, the document and readiness",
  description: "`application/json` (`{ data }`) when the `Accept` header prefers it; an HTML page otherwise. `Vary: Accept`.",
  middleware: [frontDoorCsp],
  request: { query: noQuery },
  responses: {
    200: {
      ...frontDoorJson,
      headers: frontDoorJson.headers.extend({ Vary: z.string().meta({ description: "Includes `Accept`: the body depends on it." }) }),
      content: { ...frontDoorJson.content, ...html("The same links as a page.") },
    },
  },
});

const docs = apiRoute({
  method: "get",
  path: "/docs",
  tags: ["meta"],
  summary: "This reference: Swagger UI on /openapi.json, every file served from this origin",
  middleware: [docsCsp],
  request: { query: noQuery },
  responses: {
    200: {
      description: "The reference page (it loads its script, styles and icons from /docs/assets/ and the document from /openapi.json).",
      headers: headersOf(["Cache-Control"]),
      content: html("The page."),
    },
  },
});

/** What the static assets server answers for the kinds of file in public/docs/assets/. */
const ASSET_TYPES = {
  "text/javascript": "The initializer or the Swagger UI bundle.",
  "text/css": "A stylesheet.",
  "image/png": "A favicon.",
  "text/plain": "Swagger UI's licence and notices.",
} as const;

const asset = apiRoute({
  method: "get",
  path: "/docs/assets/{file}",
  tags: ["meta"],
  summary: "A file the reference or the front door loads (Swagger UI, the initializer, the stylesheet, favicons)",
  description: "From the Worker's static assets, with the asset server's `ETag` (send it back in `If-None-Match` for a 304).",
  request: {
    params: z.object({ file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/).meta({ example: "swagger-ui-bundle.js" }) }),
    query: noQuery,
  },
  errors: ["NOT_FOUND"],
  responses: {
    200: {
      description: "The file.",
      headers: headersOf(["ETag", "Cache-Control"]),
      content: Object.fromEntries(Object.entries(ASSET_TYPES).map(([type, description]) => [type, { schema: z.string().meta({ description }) }])),
    },
    304: empty("Not modified.", ["ETag", "Cache-Control"]),
  },
});

export const docsRoutes = apiRouter()
  .openapi(frontDoor, async (c) => {
    c.header("Vary", "Accept", { append: true });
    const type = accepts(c, { header: "Accept", supports: ["text/html", "application/json"], default: "text/html" });
    // Either body may be served for this URL: caches must revalidate, whatever they make of Vary.
    const headers = { "Cache-Control": "no-cache" };
    if (type === "application/json") return c.json({ data: FRONT_DOOR }, 200, headers);
    return c.html(await frontDoorPage(FRONT_DOOR), 200, headers);
  })
  .openapi(docs, async (c) =>
    c.html(await docsPage({ title: `${TITLE} reference`, openapiUrl: FRONT_DOOR.links.openapi, homeUrl: "/" }), 200, {
      "Cache-Control": "public, max-age=300",
    }),
  )
  .openapi(asset, async (c) => {
    const { file } = c.req.valid("param");
    const res = await c.env.ASSETS.fetch(c.req.raw);
    if (res.status === 404) throw new AppError("NOT_FOUND", `No asset named ${file.slice(0, 100)}`);
    // Through the context, so the headers the platform set before the handler (request id …) join the asset's.
    return prebuilt(asset, c.newResponse(res.body, res));
  });
