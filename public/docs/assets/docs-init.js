// The API reference's initializer (GET /docs): Swagger UI on this deployment's own document. Its own file, because
// the page's CSP allows no inline script; nothing here may reach another origin (no validator badge, no URL box).
/* global SwaggerUIBundle */
"use strict";

(function start() {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle !== "function") return;
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url") || "/openapi.json",
    domNode: root,
    deepLinking: true,
    // Without this Swagger UI sends the whole document to validator.swagger.io for a badge.
    validatorUrl: null,
    // No ?url= / ?configUrl= from the address bar: the page only ever shows this API.
    queryConfigEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    persistAuthorization: false,
  });
})();
