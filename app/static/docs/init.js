// Swagger UI over Rekam's own OpenAPI document. A file, not an inline script, so the page's
// Content-Security-Policy allows scripts from Rekam alone.
"use strict";

const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // The default asks a public validator about the document: no request leaves Rekam.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
