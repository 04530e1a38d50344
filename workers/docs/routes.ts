/**
 * The interactive API reference (GET /docs: Swagger UI on /openapi.json), the files it loads (GET /docs/assets/{file},
 * from the Worker's static assets: public/docs/assets/), and the API's front-door links, which the storefront's home
 * (GET /) answers as JSON to clients that ask for it.
 *
 * Everything is served by this Worker from this origin: the pages make no request elsewhere. Each page has its own
 * CSP allowing just what it loads; every other route keeps the API's `default-src 'none'` (platform/security.ts).
 */
import { z } from "zod";
import { AppError } from "../platform/errors";
import { apiRoute, apiRouter, empty, prebuilt } from "../platform/openapi";
import { API_VERSION } from "../platform/openapi-document";
import { pageContentSecurityPolicy } from "../platform/security";
import { docsPage } from "./pages";
import type { FrontDoor } from "./response-schemas";

const TITLE = "NexusBooks API";

/** The API's links: the JSON answer of GET / (served by the storefront) and the reference's own. */
export const FRONT_DOOR: FrontDoor = {
  name: TITLE,
  version: API_VERSION,
  links: { docs: "/docs", openapi: "/openapi.json", readyz: "/readyz", storefront: "/" },
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

const html = (description: string) => ({ "text/html": { schema: z.string().meta({ description }) } });
/** The platform's declaration of these response headers (plus X-Request-Id), for responses that are not `ok(...)`. */
const headersOf = (names: Parameters<typeof empty>[1]) => empty("", names).headers;
const noQuery = z.strictObject({});

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
  summary: "A file the reference loads (Swagger UI, the initializer, the stylesheet, favicons)",
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
