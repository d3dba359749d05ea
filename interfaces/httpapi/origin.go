package httpapi

import (
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// SameOrigin reports whether a browser request came from this site, judged
// by the Origin header or else the Referer, when the browser sent one (a
// script such as curl sends neither and is allowed). It guards the logins
// (POST /api/v1/session and /ui/login) against login CSRF, together with the
// SameSite session cookie. Behind a proxy that rewrites Host, the original
// one comes in X-Forwarded-Host.
func SameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return true
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" { // includes Origin: null
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ",")
	fwd = strings.TrimSpace(fwd)
	return fwd != "" && strings.EqualFold(u.Host, fwd)
}

// RefuseCrossSite guards every state-changing API request (any method but
// GET, HEAD, OPTIONS) against cross-site request forgery, whatever
// authenticates it. A browser that holds HTTP Basic credentials sends them
// with any request to the node, also one another site's page makes; the
// page can send a form (urlencoded, multipart, text/plain) or a no-cors
// fetch without a preflight, and neither can carry application/json. So:
//   - a request from another site (Sec-Fetch-Site cross-site or same-site,
//     or an Origin or else Referer that is not this server, or Origin null)
//     is refused with 403 cross-origin;
//   - a request whose Content-Type is anything but application/json is
//     refused with 415 unsupported-media-type, body or not. A script may
//     leave the Content-Type out; a browser cannot send a body without one
//     except from a script, which always sends Origin.
//
// Scripts (curl, the cadre CLI) send no Origin and are not affected. The
// web UI posts to /ui/, not here.
func RefuseCrossSite(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if safeMethod(c.Request.Method) {
			c.Next()
			return
		}
		if site := c.GetHeader("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" || !SameOrigin(c.Request) {
			log.WarnContext(c.Request.Context(), "API write from another site refused", "method", c.Request.Method, "path", c.Request.URL.Path,
				"origin", c.GetHeader("Origin"), "referer", c.GetHeader("Referer"), "secFetchSite", site, "client", c.ClientIP())
			Abort(c, http.StatusForbidden, "cross-origin", "refused: the request came from another site (Origin, Referer or Sec-Fetch-Site is not this server)")
			return
		}
		if ct := c.GetHeader("Content-Type"); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
				Abort(c, http.StatusUnsupportedMediaType, "unsupported-media-type", "a request that changes state must send Content-Type: application/json (or none), not "+strconv.Quote(ct))
				return
			}
		}
		c.Next()
	}
}
