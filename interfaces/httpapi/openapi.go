package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OpenAPIPath is where RegisterOpenAPI serves the API description.
const OpenAPIPath = "/api/v1/openapi.yaml"

//go:embed openapi.yaml
var openAPISpec []byte

// OpenAPISpec returns the OpenAPI 3.0 description of the API (YAML).
func OpenAPISpec() []byte { return openAPISpec }

// DocsPath is where RegisterOpenAPI serves the description as a browsable page.
const DocsPath = "/api/v1/docs"

// docsPage renders openapi.yaml with Redoc. The bundle is vendored under
// web/static/redoc and served by the web UI's /static/ route, so the page
// works with no internet access. Paths are relative so that a context path
// (-Dserver.servlet.context-path) keeps working.
const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cadre API</title>
<link rel="icon" href="../../static/favicon.svg" type="image/svg+xml">
</head>
<body style="margin:0">
<div id="redoc" data-spec-url="openapi.yaml"></div>
<noscript>This page needs JavaScript. The description itself is at <a href="openapi.yaml">/api/v1/openapi.yaml</a>.</noscript>
<script src="../../static/redoc/redoc.standalone.js"></script>
<script src="../../static/redoc/init.js"></script>
</body>
</html>
`

// docsCSP allows only this node's scripts; Redoc needs inline styles
// (styled-components) and a worker from a blob for its search.
const docsCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// RegisterOpenAPI serves the OpenAPI 3.0 description at GET /api/v1/openapi.yaml
// as application/yaml and the browsable page at GET /api/v1/docs, behind
// guard (none: without authentication).
func RegisterOpenAPI(r *gin.Engine, guard ...gin.HandlerFunc) {
	g := r.Group("", guard...)
	g.GET(OpenAPIPath, func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "application/yaml", openAPISpec)
	})
	g.GET(DocsPath, func(c *gin.Context) {
		c.Header("Content-Security-Policy", docsCSP)
		c.Header("X-Content-Type-Options", "nosniff")
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(docsPage))
	})
}
