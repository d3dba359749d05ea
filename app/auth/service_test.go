package auth_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/domain/object"
	"cadre/domain/security"
)

// memObjects is the repository as the authenticator reads it: users and roles by OID and name.
type memObjects struct {
	mu   sync.Mutex
	objs map[string]object.Object
}

func (m *memObjects) put(o object.Object) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[o.ObjectMeta().OID] = o
}

func (m *memObjects) Get(_ context.Context, t object.Type, oid string) (object.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.objs[oid]; ok && o.Type() == t {
		return o, nil
	}
	return nil, object.ErrNotFound
}

func (m *memObjects) GetByName(_ context.Context, t object.Type, name string) (object.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.objs {
		if o.Type() == t && object.NormalizeName(o.ObjectMeta().Name) == object.NormalizeName(name) {
			return o, nil
		}
	}
	return nil, object.ErrNotFound
}

// memSessions is a session store in memory.
type memSessions struct {
	mu       sync.Mutex
	sessions map[string]security.Session
}

func (m *memSessions) SessionsAdd(_ context.Context, s security.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.ID] = s
	return nil
}

func (m *memSessions) SessionsGet(_ context.Context, id string) (security.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[id]; ok {
		return s, nil
	}
	return security.Session{}, object.ErrNotFound
}

func (m *memSessions) SessionsTouch(_ context.Context, id string, now, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[id]; ok {
		s.LastSeenAt, s.ExpiresAt = now, expires
		m.sessions[id] = s
	}
	return nil
}

func (m *memSessions) SessionsDelete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

func (m *memSessions) SessionsDeleteByUser(_ context.Context, userOID string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, s := range m.sessions {
		if s.UserOID == userOID {
			ids = append(ids, id)
			delete(m.sessions, id)
		}
	}
	return ids, nil
}

func (m *memSessions) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

type fixture struct {
	svc      *auth.Service
	objects  *memObjects
	sessions *memSessions
	clock    *clock
	alice    *object.User
	role     *object.Role
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func hash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// setup returns an authenticator over user alice (password "secret", role
// Readers with the reader authorization) and disabled user bob.
func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{objects: &memObjects{objs: map[string]object.Object{}}, sessions: &memSessions{sessions: map[string]security.Session{}},
		clock: &clock{t: t0}}
	f.role = &object.Role{Meta: object.Meta{OID: "role-1", Name: "Readers", Version: 1}, Authorizations: []string{object.AuthReader}}
	f.alice = &object.User{Meta: object.Meta{OID: "user-alice", Name: "alice", Version: 1}, Enabled: true,
		Roles: []string{f.role.OID, "role-gone"}, PasswordHash: hash(t, "secret")}
	bob := &object.User{Meta: object.Meta{OID: "user-bob", Name: "bob", Version: 1}, Enabled: false, PasswordHash: hash(t, "secret")}
	for _, o := range []object.Object{f.role, f.alice, bob} {
		f.objects.put(o)
	}
	f.svc = auth.NewService(f.objects, f.sessions, "node1", f.clock.now)
	return f
}

// modifyAlice stores a changed copy of alice, as the repository does (new version).
func (f *fixture) modifyAlice(change func(u *object.User)) repository.Change {
	before := *f.alice
	after := *f.alice
	after.Roles = slices.Clone(f.alice.Roles)
	change(&after)
	after.Version++
	f.alice = &after
	f.objects.put(&after)
	return repository.Change{Kind: repository.ChangeModify, Type: object.TypeUser, OID: after.OID, Before: &before, After: &after}
}

func TestBasic(t *testing.T) {
	tests := []struct {
		name, user, password string
		err                  error
	}{
		{"right password", "alice", "secret", nil},
		{"name is case-insensitive", "ALICE", "secret", nil},
		{"wrong password", "alice", "Secret", security.ErrBadCredentials},
		{"empty password", "alice", "", security.ErrBadCredentials},
		{"unknown user", "mallory", "secret", security.ErrBadCredentials},
		{"disabled user with the right password", "bob", "secret", security.ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			p, err := f.svc.Basic(t.Context(), "127.0.0.1", tt.user, tt.password)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Basic = %v, want %v", err, tt.err)
			}
			if tt.err == nil && (p.UserOID != f.alice.OID || !slices.Equal(p.Authorizations, []string{object.AuthReader}) || !p.CanRead() || p.CanWrite()) {
				t.Fatalf("principal = %+v, want alice with her role's reader authorization (a missing role is skipped)", p)
			}
		})
	}
}

// TestBasicAfterPasswordChange: a remembered successful check does not
// outlive the password it was made with.
func TestBasicAfterPasswordChange(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	if _, err := f.svc.Basic(ctx, "", "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	f.modifyAlice(func(u *object.User) { u.PasswordHash = hash(t, "n3w") })
	if _, err := f.svc.Basic(ctx, "", "alice", "secret"); !errors.Is(err, security.ErrBadCredentials) {
		t.Fatalf("old password after a change = %v, want ErrBadCredentials", err)
	}
	if _, err := f.svc.Basic(ctx, "", "alice", "n3w"); err != nil {
		t.Fatalf("new password = %v", err)
	}
}

func TestSessionLifecycle(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	if _, _, _, err := f.svc.Login(ctx, "", "alice", "wrong"); !errors.Is(err, security.ErrBadCredentials) || f.sessions.count() != 0 {
		t.Fatalf("login with a wrong password = %v, %d sessions; want ErrBadCredentials and none", err, f.sessions.count())
	}
	token, sess, _, err := f.svc.Login(ctx, "", "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if sess.ID != auth.SessionID(token) || sess.ID == token || !sess.ExpiresAt.Equal(t0.Add(security.SessionIdleTimeout)) || sess.NodeID != "node1" {
		t.Fatalf("session = %+v: want it stored under the token's digest, never the token, expiring after the idle timeout", sess)
	}
	if !auth.CheckCSRF(sess, sess.CSRFToken) || auth.CheckCSRF(sess, "") || auth.CheckCSRF(sess, "forged") {
		t.Fatal("CSRF check accepts only the session's token")
	}

	// Another node (no cache) serves the same session from the store.
	other := auth.NewService(f.objects, f.sessions, "node2", f.clock.now)
	if _, p, err := other.FromSession(ctx, token); err != nil || p.UserOID != f.alice.OID {
		t.Fatalf("session on another node = %+v, %v", p, err)
	}

	// Use within the idle timeout slides the expiry.
	f.clock.t = t0.Add(2 * time.Hour)
	if _, _, err := other.FromSession(ctx, token); err != nil {
		t.Fatal(err)
	}
	stored, _ := f.sessions.SessionsGet(ctx, sess.ID)
	if want := f.clock.t.Add(security.SessionIdleTimeout); !stored.ExpiresAt.Equal(want) {
		t.Fatalf("expiry after use at +2 h = %s, want %s", stored.ExpiresAt, want)
	}

	// Idle past the timeout: expired and deleted.
	f.clock.t = stored.ExpiresAt
	if _, _, err := other.FromSession(ctx, token); !errors.Is(err, security.ErrSessionExpired) {
		t.Fatalf("idle session = %v, want ErrSessionExpired", err)
	}
	if f.sessions.count() != 0 {
		t.Fatal("an expired session stays stored")
	}

	if _, _, err := f.svc.FromSession(ctx, ""); !errors.Is(err, security.ErrUnauthenticated) {
		t.Fatalf("no cookie = %v, want ErrUnauthenticated", err)
	}
}

func TestLogout(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	token, _, _, err := f.svc.Login(ctx, "", "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.FromSession(ctx, token); err != nil { // now cached
		t.Fatal(err)
	}
	if err := f.svc.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.FromSession(ctx, token); !errors.Is(err, security.ErrUnauthenticated) {
		t.Fatalf("session after logout = %v, want ErrUnauthenticated", err)
	}
}

// TestPrincipalCacheInvalidation: a cached principal follows the changes the
// repository reports, and without a report is rebuilt after its TTL.
func TestPrincipalCacheInvalidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *fixture) repository.Change
		effect auth.SessionEffect
		// after applying the effect: the session's fate and alice's authorizations
		err   error
		auths []string
	}{
		{"disabled: every session ends", func(f *fixture) repository.Change {
			return f.modifyAlice(func(u *object.User) { u.Enabled = false })
		}, auth.EffectEndAll, security.ErrUnauthenticated, nil},
		{"deleted: every session ends", func(f *fixture) repository.Change {
			return repository.Change{Kind: repository.ChangeDelete, Type: object.TypeUser, OID: f.alice.OID, Before: f.alice}
		}, auth.EffectEndAll, security.ErrUnauthenticated, nil},
		{"password changed: every session ends", func(f *fixture) repository.Change {
			return f.modifyAlice(func(u *object.User) { u.PasswordHash = "$2a$04$another.hash" })
		}, auth.EffectEndAll, security.ErrUnauthenticated, nil},
		{"roles changed: the principal is rebuilt", func(f *fixture) repository.Change {
			return f.modifyAlice(func(u *object.User) { u.Roles = nil })
		}, auth.EffectRefresh, nil, nil},
		{"a role's authorizations changed: every principal is rebuilt", func(f *fixture) repository.Change {
			before := *f.role
			after := &object.Role{Meta: f.role.Meta, Authorizations: []string{object.AuthSuperuser}}
			after.Version++
			f.objects.put(after)
			return repository.Change{Kind: repository.ChangeModify, Type: object.TypeRole, OID: after.OID, Before: &before, After: after}
		}, auth.EffectRefreshAll, nil, []string{object.AuthSuperuser}},
		{"full name changed: nothing to do", func(f *fixture) repository.Change {
			return f.modifyAlice(func(u *object.User) { u.FullName = "Alice A." })
		}, auth.EffectNone, nil, []string{object.AuthReader}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			ctx := t.Context()
			token, _, _, err := f.svc.Login(ctx, "", "alice", "secret")
			if err != nil {
				t.Fatal(err)
			}
			c := tt.change(f)
			effect, user := auth.EffectOf(c)
			if effect != tt.effect {
				t.Fatalf("EffectOf = %v, want %v", effect, tt.effect)
			}
			if err := f.svc.Apply(ctx, effect, user); err != nil {
				t.Fatal(err)
			}
			_, p, err := f.svc.FromSession(ctx, token)
			if !errors.Is(err, tt.err) {
				t.Fatalf("session after the change = %v, want %v", err, tt.err)
			}
			if err == nil && !slices.Equal(p.Authorizations, tt.auths) {
				t.Fatalf("authorizations after the change = %v, want %v", p.Authorizations, tt.auths)
			}
		})
	}
}

// TestPrincipalCacheTTL: a node that missed an invalidation trusts its
// cached principal for 30 s at most.
func TestPrincipalCacheTTL(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	token, _, _, err := f.svc.Login(ctx, "", "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	f.modifyAlice(func(u *object.User) { u.Enabled = false }) // no Apply: the message was lost
	if _, _, err := f.svc.FromSession(ctx, token); err != nil {
		t.Fatalf("within the TTL the cached principal serves: %v", err)
	}
	f.clock.t = t0.Add(31 * time.Second)
	if _, _, err := f.svc.FromSession(ctx, token); !errors.Is(err, security.ErrUnauthenticated) {
		t.Fatalf("after the TTL a disabled user's session = %v, want ErrUnauthenticated", err)
	}
}

// TestHoldOff: a node that just joined caches nothing until the hold-off
// ends, so a change its peers announced before they knew it still counts.
func TestHoldOff(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	f.svc.HoldOff(t0.Add(time.Minute))
	token, _, _, err := f.svc.Login(ctx, "", "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	f.modifyAlice(func(u *object.User) { u.Enabled = false })
	if _, _, err := f.svc.FromSession(ctx, token); !errors.Is(err, security.ErrUnauthenticated) {
		t.Fatalf("during hold-off a disabled user's session = %v, want ErrUnauthenticated (nothing cached)", err)
	}
}
