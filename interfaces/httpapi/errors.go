package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"cadre/domain/object"
	"cadre/domain/security"
)

// Problem is the JSON error shape of DESIGN §8.
type Problem struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// Abort writes a JSON error and stops the chain.
func Abort(c *gin.Context, status int, slug, message string) {
	c.AbortWithStatusJSON(status, Problem{Error: slug, Message: message})
}

// StatusOf maps an application error to an HTTP status and slug.
func StatusOf(err error) (int, string) {
	var conflict *object.ConflictError
	switch {
	case errors.As(err, &conflict):
		return http.StatusConflict, "version-conflict"
	case errors.Is(err, security.ErrUnauthenticated), errors.Is(err, security.ErrBadCredentials), errors.Is(err, security.ErrSessionExpired):
		return http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, security.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, security.ErrThrottled):
		return http.StatusTooManyRequests, "too-many-attempts"
	case errors.Is(err, object.ErrNotFound):
		return http.StatusNotFound, "not-found"
	case errors.Is(err, object.ErrAlreadyExists):
		return http.StatusConflict, "already-exists"
	case errors.Is(err, object.ErrInvalid):
		return http.StatusUnprocessableEntity, "invalid"
	}
	for _, m := range extraErrors {
		if errors.Is(err, m.err) {
			return m.status, m.slug
		}
	}
	return http.StatusInternalServerError, "internal"
}

type errorMapping struct {
	err    error
	status int
	slug   string
}

// extraErrors lets other parts (tasks, nodes) register their sentinel errors.
var extraErrors []errorMapping

// RegisterError maps a sentinel error to a status and slug; call at init.
func RegisterError(err error, status int, slug string) {
	extraErrors = append(extraErrors, errorMapping{err, status, slug})
}

// Fail writes the JSON error for err; internal errors are logged, not shown.
func Fail(c *gin.Context, log *slog.Logger, err error) {
	status, slug := StatusOf(err)
	if status == http.StatusInternalServerError {
		log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		Abort(c, status, slug, "internal error; see the node's log")
		return
	}
	if status == http.StatusUnauthorized && !IsCookieAuth(c) {
		c.Header("WWW-Authenticate", `Basic realm="cadre"`)
	}
	var throttled *security.ThrottledError
	if errors.As(err, &throttled) {
		c.Header("Retry-After", strconv.FormatInt(security.RetryAfterSeconds(throttled.RetryAfter), 10))
	}
	Abort(c, status, slug, err.Error())
}
