// Starts Swagger UI on the API page (/schema). Served as a file, not inline, so that the page
// works under the Content-Security-Policy "script-src 'self'" of every ragbench response.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
