// Package security holds principals, authorizations and web sessions.
package security

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"cadre/domain/object"
)

// Errors of authentication and authorization.
var (
	ErrUnauthenticated = errors.New("authentication required")
	ErrBadCredentials  = errors.New("wrong username or password")
	ErrForbidden       = errors.New("not authorized")
	ErrSessionExpired  = errors.New("session expired")
)

// Principal is an authenticated user with the authorizations of their roles.
type Principal struct {
	UserOID        string
	Name           string
	FullName       string
	Authorizations []string
	// Version is the user object's version the principal was built from.
	Version int64
}

// CanRead reports whether the principal may read objects, tasks and nodes.
func (p Principal) CanRead() bool {
	return slices.Contains(p.Authorizations, object.AuthSuperuser) || slices.Contains(p.Authorizations, object.AuthReader)
}

// CanWrite reports whether the principal may change anything.
func (p Principal) CanWrite() bool { return slices.Contains(p.Authorizations, object.AuthSuperuser) }

// RequireRead returns ErrForbidden unless the principal can read.
func (p Principal) RequireRead() error {
	if !p.CanRead() {
		return ErrForbidden
	}
	return nil
}

// RequireWrite returns ErrForbidden unless the principal can write.
func (p Principal) RequireWrite() error {
	if !p.CanWrite() {
		return ErrForbidden
	}
	return nil
}

// Session is a web session stored in the repository, so any node can serve it.
type Session struct {
	// ID is the SHA-256 of the cookie token; the token itself is never stored.
	ID         string
	UserOID    string
	CSRFToken  string
	NodeID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// Expired reports whether the session is past its expiry at now.
func (s Session) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

// SessionIdleTimeout is how long a session lives without requests.
const SessionIdleTimeout = 8 * time.Hour

// ErrThrottled is wrapped by *ThrottledError.
var ErrThrottled = errors.New("too many failed logins")

// ThrottledError refuses a login attempt after too many failures for the
// user or from the client, until RetryAfter has passed.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v for this user or from this client; retry in %d s", ErrThrottled, RetryAfterSeconds(e.RetryAfter))
}

// Unwrap makes errors.Is(err, ErrThrottled) hold.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// RetryAfterSeconds rounds d up to whole seconds, at least 1, for a Retry-After header.
func RetryAfterSeconds(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}

// LoginFailures counts the failed logins of one throttle key (a user or a
// client) in the window that started at WindowStart.
type LoginFailures struct {
	Key         string
	Failures    int
	WindowStart time.Time
}
