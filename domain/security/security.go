// Package security holds principals, authorizations and web sessions.
package security

import (
	"errors"
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
