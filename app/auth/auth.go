// Package auth authenticates users (HTTP Basic, repository-stored sessions)
// and keeps a per-session principal cache that peers can invalidate.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"cadre/domain/object"
	"cadre/domain/security"
)

// ObjectReader is the part of the repository auth needs.
type ObjectReader interface {
	Get(ctx context.Context, t object.Type, oid string) (object.Object, error)
	GetByName(ctx context.Context, t object.Type, name string) (object.Object, error)
}

// SessionStore keeps web sessions in the repository.
type SessionStore interface {
	SessionsAdd(ctx context.Context, s security.Session) error
	SessionsGet(ctx context.Context, id string) (security.Session, error)
	SessionsTouch(ctx context.Context, id string, now, expires time.Time) error
	SessionsDelete(ctx context.Context, id string) error
	SessionsDeleteByUser(ctx context.Context, userOID string) ([]string, error)
}

// Service authenticates requests.
type Service struct {
	objects  ObjectReader
	sessions SessionStore
	nodeID   string
	now      func() time.Time

	mu         sync.Mutex
	coldUntil  time.Time                  // no principal caching before this
	principals map[string]cachedPrincipal // by session ID
	basic      map[string]basicEntry      // by username + password digest
	throttle   *Throttle                  // nil: no brute-force throttling
	ttl        time.Duration              // principalTTL unless UsePrincipalTTL
}

type cachedPrincipal struct {
	session   security.Session
	principal security.Principal
	until     time.Time
}

type basicEntry struct {
	userOID string
	version int64
}

// principalTTL bounds how long a cached principal is trusted without a peer
// invalidation or a change log entry (the last resort); the default of
// security/principalCacheTtl.
const principalTTL = 30 * time.Second

// UsePrincipalTTL sets how long a cached principal is trusted; call it
// before serving.
func (s *Service) UsePrincipalTTL(d time.Duration) {
	if d > 0 {
		s.ttl = d
	}
}

// NewService builds the authenticator.
func NewService(objects ObjectReader, sessions SessionStore, nodeID string, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{objects: objects, sessions: sessions, nodeID: nodeID, now: now,
		principals: map[string]cachedPrincipal{}, basic: map[string]basicEntry{}, ttl: principalTTL}
}

// BcryptHasher hashes passwords with bcrypt.
type BcryptHasher struct {
	// Cost is the bcrypt cost; 0 means bcrypt.DefaultCost (10). Tests use
	// bcrypt.MinCost to keep the race detector fast.
	Cost int
}

// Hash implements repository.PasswordHasher.
func (b BcryptHasher) Hash(password string) (string, error) {
	cost := b.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// UseThrottle turns on brute-force throttling; call it before serving.
func (s *Service) UseThrottle(t *Throttle) { s.throttle = t }

// Basic checks a username and password sent from client (its address; ""
// when unknown). A successful check is remembered for the same user
// version, so repeated API calls skip bcrypt. With a Throttle, an attempt
// after too many failures for the user or from the client fails with
// *security.ThrottledError before the password is looked at. An unknown user
// costs the same bcrypt work as a known one.
func (s *Service) Basic(ctx context.Context, client, username, password string) (security.Principal, error) {
	now := s.now()
	var userFailed bool
	if s.throttle != nil {
		wait, failed, err := s.throttle.check(ctx, username, client, now)
		if err != nil {
			return security.Principal{}, fmt.Errorf("check login throttle: %w", err)
		}
		if wait > 0 {
			return security.Principal{}, &security.ThrottledError{RetryAfter: wait}
		}
		userFailed = failed
	}
	p, err := s.checkPassword(ctx, username, password)
	switch {
	case errors.Is(err, security.ErrBadCredentials) && s.throttle != nil:
		if ferr := s.throttle.failed(ctx, username, client, now); ferr != nil {
			return security.Principal{}, fmt.Errorf("count failed login: %w", ferr)
		}
	case err == nil && userFailed:
		if cerr := s.throttle.Store.LoginFailuresClear(ctx, userKey(username)); cerr != nil {
			return security.Principal{}, fmt.Errorf("clear failed logins: %w", cerr)
		}
	}
	return p, err
}

func (s *Service) checkPassword(ctx context.Context, username, password string) (security.Principal, error) {
	o, err := s.objects.GetByName(ctx, object.TypeUser, username)
	if errors.Is(err, object.ErrNotFound) {
		_, err := comparePassword(ctx, "", password)
		if err != nil {
			return security.Principal{}, err
		}
		return security.Principal{}, security.ErrBadCredentials
	}
	if err != nil {
		return security.Principal{}, err
	}
	u := o.(*object.User)
	digest := sha256.Sum256([]byte(username + "\x00" + password))
	key := hex.EncodeToString(digest[:])
	s.mu.Lock()
	e, ok := s.basic[key]
	s.mu.Unlock()
	if !ok || e.userOID != u.OID || e.version != u.Version {
		ok, err := comparePassword(ctx, u.PasswordHash, password)
		if err != nil {
			return security.Principal{}, err
		}
		if !ok {
			return security.Principal{}, security.ErrBadCredentials
		}
		s.mu.Lock()
		if len(s.basic) > 10000 {
			clear(s.basic)
		}
		s.basic[key] = basicEntry{userOID: u.OID, version: u.Version}
		s.mu.Unlock()
	}
	return s.principalOf(ctx, u)
}

// principalOf resolves a user's authorizations; a disabled user has none and is refused.
func (s *Service) principalOf(ctx context.Context, u *object.User) (security.Principal, error) {
	if !u.Enabled {
		return security.Principal{}, security.ErrBadCredentials
	}
	p := security.Principal{UserOID: u.OID, Name: u.Name, FullName: u.FullName, Version: u.Version}
	for _, roleOID := range u.Roles {
		o, err := s.objects.Get(ctx, object.TypeRole, roleOID)
		if errors.Is(err, object.ErrNotFound) {
			continue
		}
		if err != nil {
			return security.Principal{}, err
		}
		p.Authorizations = append(p.Authorizations, o.(*object.Role).Authorizations...)
	}
	return p, nil
}

// Login checks credentials sent from client (as Basic does) and opens a
// session; the token goes into the cookie.
func (s *Service) Login(ctx context.Context, client, username, password string) (token string, sess security.Session, p security.Principal, err error) {
	p, err = s.Basic(ctx, client, username, password)
	if err != nil {
		return "", security.Session{}, security.Principal{}, err
	}
	token = randomToken()
	now := s.now().UTC()
	sess = security.Session{ID: SessionID(token), UserOID: p.UserOID, CSRFToken: randomToken(), NodeID: s.nodeID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(security.SessionIdleTimeout)}
	if err := s.sessions.SessionsAdd(ctx, sess); err != nil {
		return "", security.Session{}, security.Principal{}, fmt.Errorf("store session: %w", err)
	}
	s.remember(sess, p)
	return token, sess, p, nil
}

// FromSession authenticates a session cookie token on any node.
func (s *Service) FromSession(ctx context.Context, token string) (security.Session, security.Principal, error) {
	if token == "" {
		return security.Session{}, security.Principal{}, security.ErrUnauthenticated
	}
	id := SessionID(token)
	now := s.now().UTC()
	s.mu.Lock()
	c, ok := s.principals[id]
	s.mu.Unlock()
	if ok && now.Before(c.until) && !c.session.Expired(now) {
		return c.session, c.principal, nil
	}
	sess, err := s.sessions.SessionsGet(ctx, id)
	if errors.Is(err, object.ErrNotFound) {
		s.forget(id)
		return security.Session{}, security.Principal{}, security.ErrUnauthenticated
	}
	if err != nil {
		return security.Session{}, security.Principal{}, err
	}
	if sess.Expired(now) {
		_ = s.sessions.SessionsDelete(ctx, id)
		return security.Session{}, security.Principal{}, security.ErrSessionExpired
	}
	o, err := s.objects.Get(ctx, object.TypeUser, sess.UserOID)
	if errors.Is(err, object.ErrNotFound) {
		_ = s.sessions.SessionsDelete(ctx, id)
		return security.Session{}, security.Principal{}, security.ErrUnauthenticated
	}
	if err != nil {
		return security.Session{}, security.Principal{}, err
	}
	p, err := s.principalOf(ctx, o.(*object.User))
	if err != nil {
		_ = s.sessions.SessionsDelete(ctx, id)
		return security.Session{}, security.Principal{}, security.ErrUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		sess.LastSeenAt, sess.ExpiresAt = now, now.Add(security.SessionIdleTimeout)
		if err := s.sessions.SessionsTouch(ctx, id, now, sess.ExpiresAt); err != nil {
			return security.Session{}, security.Principal{}, err
		}
	}
	s.remember(sess, p)
	return sess, p, nil
}

// Logout ends the session of the token.
func (s *Service) Logout(ctx context.Context, token string) error {
	id := SessionID(token)
	s.forget(id)
	return s.sessions.SessionsDelete(ctx, id)
}

// InvalidateUser drops cached principals of a user on this node, so the next
// request rebuilds them from the repository.
func (s *Service) InvalidateUser(userOID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.principals {
		if c.principal.UserOID == userOID {
			delete(s.principals, id)
		}
	}
}

// EndUserSessions deletes a user's sessions from the repository and drops them locally.
func (s *Service) EndUserSessions(ctx context.Context, userOID string) error {
	s.InvalidateUser(userOID)
	_, err := s.sessions.SessionsDeleteByUser(ctx, userOID)
	return err
}

// CheckCSRF compares a form's token with the session's in constant time.
func CheckCSRF(sess security.Session, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(sess.CSRFToken), []byte(token)) == 1
}

// HoldOff stops caching principals until t: a node that just joined is not
// yet in its peers' lists and could miss their session invalidations.
func (s *Service) HoldOff(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.coldUntil = t
}

func (s *Service) remember(sess security.Session, p security.Principal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.now().Before(s.coldUntil) {
		return
	}
	if len(s.principals) > 100000 {
		clear(s.principals)
	}
	s.principals[sess.ID] = cachedPrincipal{session: sess, principal: p, until: s.now().Add(s.ttl)}
}

func (s *Service) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.principals, id)
}

// SessionID is the stored form of a cookie token.
func SessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
