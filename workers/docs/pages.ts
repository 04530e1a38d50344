/**
 * The API reference's page (GET /docs). Rendered with Hono's `html` template, which escapes every interpolated value;
 * it has no inline script or style (its CSP, in routes.ts, allows none), and everything it loads is under
 * /docs/assets/ on this origin.
 */
import { html } from "hono/html";

/** Where the pages' own files are served (public/docs/assets/, see wrangler.toml `[assets]`). */
export const ASSETS_PATH = "/docs/assets";

const head = (title: string) => html`<meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${title}</title>
    <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-16x16.png" sizes="16x16">`;

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
