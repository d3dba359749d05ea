package httpapi_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"cadre/interfaces/httpapi/openapitest"
)

// TestMain runs the component tests and then, when the whole package ran and
// passed, fails if an operation of openapi.yaml was never exercised: every
// described operation needs at least one successful (2xx or 3xx) exchange
// that the checker validated.
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.skip").Value.String() != "" || testing.Short() {
		os.Exit(code)
	}
	if c := openapitest.Loaded(); c != nil {
		if missing := c.Unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: operations in openapi.yaml that no component test exercised (add a test through the checked client):\n  %s\n",
				strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}
