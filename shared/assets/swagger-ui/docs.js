// Starts Swagger UI on the OpenAPI document served beside this page. The page is
// `<base>/docs`, the document `<base>/openapi.json`, whatever stage or prefix
// `<base>` is behind API Gateway.
window.addEventListener("load", function () {
  var base = window.location.pathname.replace(/\/docs\/?$/, "");
  window.ui = SwaggerUIBundle({
    url: base + "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    supportedSubmitMethods: ["get", "post"],
  });
});
