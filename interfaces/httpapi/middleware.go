package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/app/auth"
	"cadre/domain/security"
)

// MaxBodyBytes is the largest request body accepted (1 MiB); larger gets 413.
const MaxBodyBytes = 1 << 20

// SessionCookie is the name of the web session cookie.
const SessionCookie = "cadre_session"

const (
	keyPrincipal = "cadre.principal"
	keySession   = "cadre.session"
	keyCookie    = "cadre.cookie"
)

// ServedBy tags every response with the node that served it.
func ServedBy(nodeID string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("X-Served-By", nodeID)
		c.Next()
	}
}

// LimitBody caps request bodies at MaxBodyBytes.
func LimitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > MaxBodyBytes {
			Abort(c, http.StatusRequestEntityTooLarge, "too-large", "request body is larger than 1 MiB")
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
		c.Next()
	}
}

// Recover turns a panic into a logged 500 with the JSON error shape.
func Recover(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "path", c.Request.URL.Path, "panic", r, "stack", string(debug.Stack()))
				Abort(c, http.StatusInternalServerError, "internal", "internal error; see the node's log")
			}
		}()
		c.Next()
	}
}

// Authenticate resolves the principal from HTTP Basic or the session cookie.
// It does not reject anonymous requests; RequireAuth does.
func Authenticate(a *auth.Service, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if resolvePrincipal(c, a, log) {
			c.Next()
		}
	}
}

// resolvePrincipal sets the principal from HTTP Basic or the session cookie.
// It answers and returns false for wrong or throttled Basic credentials.
func resolvePrincipal(c *gin.Context, a *auth.Service, log *slog.Logger) bool {
	ctx := c.Request.Context()
	if user, pass, ok := c.Request.BasicAuth(); ok {
		p, err := a.Basic(ctx, c.ClientIP(), user, pass)
		if err != nil {
			switch {
			case errors.Is(err, security.ErrThrottled):
				log.WarnContext(ctx, "basic authentication throttled", "user", user, "client", c.ClientIP())
				Fail(c, log, err)
			case errors.Is(err, security.ErrBadCredentials):
				Fail(c, log, err)
			default:
				Unavailable(c, log, "basic authentication", err)
			}
			return false
		}
		c.Set(keyPrincipal, p)
		return true
	}
	if token, err := c.Cookie(SessionCookie); err == nil && token != "" {
		sess, p, err := a.FromSession(ctx, token)
		if err == nil {
			c.Set(keyPrincipal, p)
			c.Set(keySession, sess)
			c.Set(keyCookie, true)
		} else if !errors.Is(err, security.ErrUnauthenticated) && !errors.Is(err, security.ErrSessionExpired) {
			log.ErrorContext(ctx, "session authentication", "err", err)
		}
	}
	return true
}

// Unavailable answers 503 unavailable with Retry-After when a login could
// not be checked because the repository failed (a database outage): the
// credentials may well be right, so neither 401 nor a 500 would be true.
// err goes to the log, not to the client.
func Unavailable(c *gin.Context, log *slog.Logger, what string, err error) {
	log.ErrorContext(c.Request.Context(), what+": the repository failed", "err", err)
	c.Header("Retry-After", "5")
	Abort(c, http.StatusServiceUnavailable, "unavailable", "the login could not be checked: the repository is not reachable; try again shortly")
}

// RequireAuth rejects anonymous API requests with 401 and, for cookie-based
// requests that change state, checks the X-CSRF-Token header.
func RequireAuth(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := PrincipalOf(c); !ok {
			Fail(c, log, security.ErrUnauthenticated)
			return
		}
		if IsCookieAuth(c) && !safeMethod(c.Request.Method) {
			sess, _ := SessionOf(c)
			if !auth.CheckCSRF(sess, c.GetHeader("X-CSRF-Token")) {
				Abort(c, http.StatusForbidden, "csrf", "missing or wrong X-CSRF-Token header for a cookie-authenticated request")
				return
			}
		}
		c.Next()
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// PrincipalOf returns the authenticated principal, if any.
func PrincipalOf(c *gin.Context) (security.Principal, bool) {
	v, ok := c.Get(keyPrincipal)
	if !ok {
		return security.Principal{}, false
	}
	p, ok := v.(security.Principal)
	return p, ok
}

// SessionOf returns the web session, when the request came with the cookie.
func SessionOf(c *gin.Context) (security.Session, bool) {
	v, ok := c.Get(keySession)
	if !ok {
		return security.Session{}, false
	}
	s, ok := v.(security.Session)
	return s, ok
}

// IsCookieAuth reports whether the request was authenticated by the session cookie.
func IsCookieAuth(c *gin.Context) bool { return c.GetBool(keyCookie) }

// SetSessionCookie writes the HttpOnly, SameSite=Lax session cookie.
func SetSessionCookie(c *gin.Context, token string, maxAge int) {
	secure := c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https")
	c.SetSameSite(http.SameSiteLaxMode)
	c.SetCookie(SessionCookie, token, maxAge, "/", "", secure, true)
}
