package httpapi

import (
	"net/http"
	"net/url"
	"strings"
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
