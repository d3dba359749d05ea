package node

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"cadre/app/repository"
	"cadre/interfaces/httpapi"
)

// TestConsistencyNamesTheChangeOfAWrite: a write that logged a change
// answers with X-Cadre-Change — on a JSON answer, a redirect after a form
// and a 204 alike — and a browser session also gets the cadre_change
// cookie, which its next request sends back; a request that changed
// nothing gets neither.
func TestConsistencyNamesTheChangeOfAWrite(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	n := &Node{follower: &repository.Follower{}, Log: slog.Default()}
	r := gin.New()
	r.Use(n.consistency())
	r.POST("/json", func(c *gin.Context) {
		repository.RecordChangeSeq(c.Request.Context(), "a", 41)
		repository.RecordChangeSeq(c.Request.Context(), "b", 42)
		c.JSON(http.StatusOK, gin.H{"ok": true})
	})
	r.POST("/form", func(c *gin.Context) {
		repository.RecordChangeSeq(c.Request.Context(), "a", 43)
		c.Redirect(http.StatusSeeOther, "/done")
	})
	r.DELETE("/empty", func(c *gin.Context) {
		repository.RecordChangeSeq(c.Request.Context(), "a", 44)
		c.Status(http.StatusNoContent)
	})
	r.GET("/read", func(c *gin.Context) { c.String(http.StatusOK, "read") })

	for _, tc := range []struct {
		method, path, want string
		browser            bool
	}{
		{"POST", "/json", "42", false},
		{"POST", "/form", "43", true},
		{"DELETE", "/empty", "44", true},
		{"GET", "/read", "", true},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.browser {
			req.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: "token"})
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if got := w.Header().Get(ChangeHeader); got != tc.want {
			t.Errorf("%s %s: %s %q, want %q", tc.method, tc.path, ChangeHeader, got, tc.want)
		}
		cookie := strings.Join(w.Header().Values("Set-Cookie"), "; ")
		if wantCookie := tc.browser && tc.want != ""; strings.Contains(cookie, changeCookie+"="+tc.want) != wantCookie {
			t.Errorf("%s %s: Set-Cookie %q; want the change cookie: %v", tc.method, tc.path, cookie, wantCookie)
		}
	}
}
