// Swagger UI over this server's own OpenAPI document. Kept in a file (not
// inline) so the page works under a strict Content-Security-Policy.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
