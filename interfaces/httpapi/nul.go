package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
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
			if err := r.ParseForm(); err == nil && valuesHoldNUL(r.PostForm) {
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
