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

// RegisterOpenAPI serves the OpenAPI 3.0 description at GET /api/v1/openapi.yaml
// as application/yaml, without authentication.
func RegisterOpenAPI(r *gin.Engine) {
	r.GET(OpenAPIPath, func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "application/yaml", openAPISpec)
	})
}
