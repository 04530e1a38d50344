/**
 * The two HTML pages of the API: the front door (GET /) and the API reference (GET /docs). Rendered with Hono's
 * `html` template, which escapes every interpolated value; neither page has an inline script or style (their CSPs,
 * in routes.ts, allow none), and everything they load is under /docs/assets/ on this origin.
 */
import { html } from "hono/html";
import type { FrontDoor } from "./response-schemas";

/** Where the pages' own files are served (public/docs/assets/, see wrangler.toml `[assets]`). */
export const ASSETS_PATH = "/docs/assets";

const head = (title: string) => html`<meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${title}</title>
    <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-16x16.png" sizes="16x16">`;

/** The front door: what this service is and where its reference, document and readiness live. */
export function frontDoorPage(door: FrontDoor) {
  const { links } = door;
  return html`<!doctype html>
<html lang="en">
  <head>
    ${head(door.name)}
    <link rel="stylesheet" href="${ASSETS_PATH}/site.css">
  </head>
  <body>
    <main class="front-door">
      <h1>${door.name}</h1>
      <p class="version">Version ${door.version}</p>
      <p>The bookstore's commerce API: catalog, search, carts, checkout, orders, accounts and staff operations.</p>
      <nav aria-label="Resources">
        <ul>
          <li><a href="${links.docs}">API reference</a>: every operation, its parameters, responses and error codes; try them here.</li>
          <li><a href="${links.openapi}">OpenAPI 3.1 document</a> (JSON), for client generators.</li>
          <li><a href="${links.readyz}">Readiness</a>: the databases and the cache, with timings.</li>
          ${links.storefront === null ? "" : html`<li><a href="${links.storefront}">Storefront</a>: the shop itself.</li>`}
        </ul>
      </nav>
    </main>
  </body>
</html>
`;
}

/** The API reference: Swagger UI (swagger-ui-dist, served from /docs/assets/) on `openapiUrl`. */
export function docsPage(opts: { title: string; openapiUrl: string; homeUrl: string }) {
  return html`<!doctype html>
<html lang="en">
  <head>
    ${head(opts.title)}
    <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css">
    <link rel="stylesheet" href="${ASSETS_PATH}/site.css">
  </head>
  <body>
    <a class="skip-link" href="#swagger-ui">Skip to the reference</a>
    <header class="docs-header">
      <a class="home" href="${opts.homeUrl}">${opts.title}</a>
      <a href="${opts.openapiUrl}">OpenAPI document (JSON)</a>
    </header>
    <main id="swagger-ui" data-openapi-url="${opts.openapiUrl}">
      <noscript><p>This reference needs JavaScript. The OpenAPI document it shows is at <a href="${opts.openapiUrl}">${opts.openapiUrl}</a>.</p></noscript>
    </main>
    <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${ASSETS_PATH}/docs-init.js"></script>
  </body>
</html>
`;
}
