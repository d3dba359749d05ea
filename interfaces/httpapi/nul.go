package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// RejectNUL answers 400 bad-request for a request whose path, query or form
// holds a NUL byte. PostgreSQL cannot store NUL in text and SQLite would keep
// it silently, so it is refused here, the same on both databases. JSON bodies
// are checked by ReadBody (422 invalid).
func RejectNUL() gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		where := ""
		switch {
		case strings.ContainsRune(r.URL.Path, 0):
			where = "the path"
		case strings.ContainsRune(r.URL.RawQuery, 0) || valuesHoldNUL(r.URL.Query()):
			where = "the query"
		case r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
			// Read and put back: `curl -d '{…}'` sends JSON with this
			// content type, and the handler must still find its body.
			body, err := io.ReadAll(r.Body)
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errorReader{err}))
			if form, perr := url.ParseQuery(string(body)); err == nil && perr == nil && valuesHoldNUL(form) {
				where = "the form"
			}
		}
		if where != "" {
			Abort(c, http.StatusBadRequest, "bad-request", fmt.Sprintf("%s holds a NUL byte (%%00), which no field may contain", where))
			return
		}
		c.Next()
	}
}

// errorReader returns err (io.EOF when nil) once the body read before is used up.
type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}

func valuesHoldNUL(v map[string][]string) bool {
	for k, vs := range v {
		if strings.ContainsRune(k, 0) {
			return true
		}
		for _, s := range vs {
			if strings.ContainsRune(s, 0) {
				return true
			}
		}
	}
	return false
}

// jsonHoldsNUL reports whether a JSON body has a string (value or key) with
// a NUL character, written \u0000.
func jsonHoldsNUL(body []byte) bool {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return false
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false // malformed: the decoder answers it
	}
	return anyHoldsNUL(v)
}

func anyHoldsNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, 0)
	case []any:
		for _, e := range x {
			if anyHoldsNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) || anyHoldsNUL(e) {
				return true
			}
		}
	}
	return false
}
