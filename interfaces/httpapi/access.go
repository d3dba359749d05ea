package httpapi

import (
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/app/auth"
)

// Access modes of security/metricsAccess and security/openapiAccess.
const (
	AccessOpen     = "open"     // anyone
	AccessLoopback = "loopback" // the loopback interface, or the token
	AccessLogin    = "login"    // a logged-in user, or the token
)

// Guard restricts a route by mode. token ("" for none) lets a client in
// anywhere with "Authorization: Bearer <token>". setting names the
// configuration key in the refusal. A refused request gets 403 (loopback)
// or 401 (login). The loopback test looks at the TCP peer, and refuses a
// request that a proxy on this machine passed on for another client: one
// whose X-Forwarded-For or X-Real-IP names an address that is not loopback,
// or that carries Forwarded. Behind a load balancer on the same host the
// TCP peer is loopback for every client, and /metrics would be public.
func Guard(mode, token, setting string, a *auth.Service, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if mode == AccessOpen || mode == "" {
			c.Next()
			return
		}
		if bearer, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok && token != "" &&
			subtle.ConstantTimeCompare([]byte(bearer), []byte(token)) == 1 {
			c.Next()
			return
		}
		switch mode {
		case AccessLoopback:
			host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
			if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() && !proxiedFromAfar(c.Request.Header) {
				c.Next()
				return
			}
			Abort(c, http.StatusForbidden, "forbidden", c.Request.URL.Path+" is served only on the loopback interface or with its bearer token (setting "+setting+")")
		default: // AccessLogin
			if !resolvePrincipal(c, a, log) {
				return
			}
			if _, ok := PrincipalOf(c); !ok {
				Abort(c, http.StatusUnauthorized, "unauthenticated", c.Request.URL.Path+" needs a login or its bearer token (setting "+setting+")")
				return
			}
			c.Next()
		}
	}
}

// proxiedFromAfar reports whether a proxy passed the request on for a client
// other than this machine.
func proxiedFromAfar(h http.Header) bool {
	if h.Get("Forwarded") != "" {
		return true
	}
	for _, key := range []string{"X-Forwarded-For", "X-Real-IP"} {
		for _, v := range h.Values(key) {
			for _, addr := range strings.Split(v, ",") {
				ip := net.ParseIP(strings.TrimSpace(addr))
				if ip == nil || !ip.IsLoopback() {
					return true
				}
			}
		}
	}
	return false
}
