package repository

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"cadre/domain/object"
	"cadre/domain/security"
)

// Service is the repository use cases.
type Service struct {
	store  Store
	hasher PasswordHasher
	now    func() time.Time
	log    *slog.Logger

	mu        sync.RWMutex
	listeners []ChangeListener
}

// NewService builds the repository service.
func NewService(store Store, hasher PasswordHasher, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, hasher: hasher, now: now, log: log}
}

// OnChange registers a listener for committed changes.
func (s *Service) OnChange(l ChangeListener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, l)
}

func (s *Service) notify(ctx context.Context, c Change) {
	s.mu.RLock()
	ls := slices.Clone(s.listeners)
	s.mu.RUnlock()
	for _, l := range ls {
		l(ctx, c)
	}
}

// Store gives other use cases (tasks, auth) direct, unauthorized access.
func (s *Service) Store() Store { return s.store }

// AddInput is a new object and, for users, a clear-text password.
type AddInput struct {
	Object   object.Object
	Password string
}

// Add stores a new object with a fresh OID and version 1. Roles that need
// approval are held back (AddWithApproval tells which).
func (s *Service) Add(ctx context.Context, p security.Principal, in AddInput) (object.Object, error) {
	w, err := s.AddWithApproval(ctx, p, in)
	return w.Object, err
}

// AddSystem adds without an authorization check, for the node's own work.
func (s *Service) AddSystem(ctx context.Context, in AddInput) (object.Object, error) {
	o := in.Object
	if o.Type() == object.TypeSystemConfiguration {
		if _, err := s.store.Get(ctx, object.TypeSystemConfiguration, object.SystemConfigurationOID); err == nil {
			return nil, fmt.Errorf("%w: the system configuration is a singleton; modify it instead", object.ErrAlreadyExists)
		}
	}
	m := o.ObjectMeta()
	if m.OID == "" {
		m.OID = uuid.NewString()
		if o.Type() == object.TypeSystemConfiguration {
			m.OID = object.SystemConfigurationOID
		}
	} else if _, err := uuid.Parse(m.OID); err != nil {
		return nil, fmt.Errorf("%w: oid %q is not a UUID", object.ErrInvalid, m.OID)
	}
	now := s.now().UTC()
	m.Version, m.CreatedAt, m.ModifiedAt = 1, now, now
	if err := s.prepare(ctx, o, nil, in.Password); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	logged, seqs := WithChangeSeqs(ctx)
	if err := s.store.Add(logged, o); err != nil {
		return nil, err
	}
	s.notify(ctx, Change{Kind: ChangeAdd, Type: o.Type(), OID: m.OID, After: o, Seq: seqs.Of(m.OID)})
	return o, nil
}

// prepare hashes a new password and checks that roles added (compared with
// before, nil for a new object) exist; a role deleted since it was assigned
// does not block other changes to the user. For a role it resolves the
// approvers added.
func (s *Service) prepare(ctx context.Context, o, before object.Object, password string) error {
	if r, ok := o.(*object.Role); ok {
		return s.resolveApprovers(ctx, r, before)
	}
	u, ok := o.(*object.User)
	if !ok {
		return nil
	}
	if password != "" {
		if len(password) < 8 {
			return fmt.Errorf("%w: password must have at least 8 characters", object.ErrInvalid)
		}
		h, err := s.hasher.Hash(password)
		if err != nil {
			return err
		}
		u.PasswordHash = h
	}
	var had []string
	if b, ok := before.(*object.User); ok {
		had = b.Roles
	}
	for i, ref := range u.Roles {
		if slices.Contains(had, ref) {
			continue
		}
		oid, err := s.roleOID(ctx, ref)
		if err != nil {
			return err
		}
		u.Roles[i] = oid
	}
	return nil
}

// roleOID resolves a role given by OID or, failing that, by name.
func (s *Service) roleOID(ctx context.Context, ref string) (string, error) {
	if _, err := s.store.Get(ctx, object.TypeRole, ref); err == nil {
		return ref, nil
	}
	o, err := s.store.GetByName(ctx, object.TypeRole, ref)
	if err != nil {
		return "", fmt.Errorf("%w: role %q does not exist (give a role's OID or its name)", object.ErrInvalid, ref)
	}
	return o.ObjectMeta().OID, nil
}

// Get reads one object.
func (s *Service) Get(ctx context.Context, p security.Principal, t object.Type, oid string) (object.Object, error) {
	if err := p.RequireRead(); err != nil {
		return nil, err
	}
	return s.store.Get(ctx, t, oid)
}

// ModifyInput changes one object.
type ModifyInput struct {
	Type object.Type
	OID  string
	// ExpectedVersion is the If-Match version; 0 means unconditional.
	ExpectedVersion int64
	// Apply changes the object in place.
	Apply    func(object.Object) error
	Password string
}

// Modify changes one object with an optimistic version check. A change that
// would leave no enabled superuser is refused with ErrLastSuperuser. Roles
// added that need approval are held back (ModifyWithApproval tells which).
func (s *Service) Modify(ctx context.Context, p security.Principal, in ModifyInput) (object.Object, error) {
	w, err := s.ModifyWithApproval(ctx, p, in)
	return w.Object, err
}

// ModifySystem modifies without an authorization check.
func (s *Service) ModifySystem(ctx context.Context, in ModifyInput) (object.Object, error) {
	var before object.Object
	logged, seqs := WithChangeSeqs(ctx)
	after, err := s.store.Modify(logged, in.Type, in.OID, in.ExpectedVersion, s.now(), func(o object.Object) error {
		before = clone(o)
		if err := in.Apply(o); err != nil {
			return err
		}
		return s.prepare(ctx, o, before, in.Password)
	})
	if err != nil {
		return nil, err
	}
	s.notify(ctx, Change{Kind: ChangeModify, Type: in.Type, OID: in.OID, Before: before, After: after, Seq: seqs.Of(in.OID)})
	return after, nil
}

// AddManySystem adds new objects created by the system (a task) in one store
// call, all or none, and tells the listeners about each. Each gets an OID
// if it has none.
func (s *Service) AddManySystem(ctx context.Context, objs []object.Object) error {
	now := s.now().UTC()
	for _, o := range objs {
		if o.Type() == object.TypeSystemConfiguration {
			return fmt.Errorf("%w: the system configuration is a singleton; modify it instead", object.ErrAlreadyExists)
		}
		m := o.ObjectMeta()
		if m.OID == "" {
			m.OID = uuid.NewString()
		} else if _, err := uuid.Parse(m.OID); err != nil {
			return fmt.Errorf("%w: oid %q is not a UUID", object.ErrInvalid, m.OID)
		}
		m.Version, m.CreatedAt, m.ModifiedAt = 1, now, now
		if err := s.prepare(ctx, o, nil, ""); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
	}
	logged, seqs := WithChangeSeqs(ctx)
	if err := s.store.AddMany(logged, objs); err != nil {
		return err
	}
	for _, o := range objs {
		s.notify(ctx, Change{Kind: ChangeAdd, Type: o.Type(), OID: o.ObjectMeta().OID, After: o, Seq: seqs.Of(o.ObjectMeta().OID)})
	}
	return nil
}

// Modified is one object read, changed in memory, and ready to be written
// at the version it was read at.
type Modified struct {
	Before, After object.Object
}

// WriteManySystem writes objects changed by the system (a task) in one
// store call, each only if nobody changed it since it was read, and tells
// the listeners about every one written. It returns, per object, whether it
// was written; the caller modifies the others one by one.
func (s *Service) WriteManySystem(ctx context.Context, ms []Modified) ([]bool, error) {
	objs := make([]object.Object, len(ms))
	for i, m := range ms {
		if err := s.prepare(ctx, m.After, m.Before, ""); err != nil {
			return nil, fmt.Errorf("%s %s: %w", m.After.Type(), m.After.ObjectMeta().OID, err)
		}
		objs[i] = m.After
	}
	logged, seqs := WithChangeSeqs(ctx)
	for _, m := range ms { // so the change log row is only written when needed
		seqs.setBefore(m.After.ObjectMeta().OID, m.Before)
	}
	written, err := s.store.WriteMany(logged, objs, s.now())
	if err != nil {
		return nil, err
	}
	for i, m := range ms {
		if written[i] {
			meta := m.After.ObjectMeta()
			s.notify(ctx, Change{Kind: ChangeModify, Type: m.After.Type(), OID: meta.OID, Before: m.Before, After: m.After, Seq: seqs.Of(meta.OID)})
		}
	}
	return written, nil
}

// Delete removes one object. The system configuration cannot be deleted,
// nor the last enabled superuser or superuser role (ErrLastSuperuser).
func (s *Service) Delete(ctx context.Context, p security.Principal, t object.Type, oid string) error {
	if err := p.RequireWrite(); err != nil {
		return err
	}
	if t == object.TypeSystemConfiguration {
		return fmt.Errorf("%w: the system configuration cannot be deleted", object.ErrInvalid)
	}
	if t == object.TypeUser && oid == p.UserOID {
		return fmt.Errorf("%w: you cannot delete yourself", object.ErrInvalid)
	}
	if err := s.guardSuperusers(ctx, t, oid, nil); err != nil {
		return err
	}
	before, err := s.store.Get(ctx, t, oid)
	if err != nil {
		return err
	}
	logged, seqs := WithChangeSeqs(ctx)
	if err := s.store.Delete(logged, t, oid); err != nil {
		return err
	}
	s.notify(ctx, Change{Kind: ChangeDelete, Type: t, OID: oid, Before: before, Seq: seqs.Of(oid)})
	return nil
}

// Search returns a page of objects.
func (s *Service) Search(ctx context.Context, p security.Principal, q object.Query) (object.Page, error) {
	if err := p.RequireRead(); err != nil {
		return object.Page{}, err
	}
	return s.store.Search(ctx, q)
}

// Bootstrap fills an empty repository: roles Superuser and Reader, the system
// configuration and the administrator. When initialPassword is empty a random
// one is generated and returned, to be printed once.
func (s *Service) Bootstrap(ctx context.Context, initialPassword string) (generated string, err error) {
	if _, err := s.store.Get(ctx, object.TypeSystemConfiguration, object.SystemConfigurationOID); err != nil {
		sc := &object.SystemConfiguration{Meta: object.Meta{Name: "SystemConfiguration"}}
		if _, err := s.AddSystem(ctx, AddInput{Object: sc}); err != nil && !isExists(err) {
			return "", fmt.Errorf("create system configuration: %w", err)
		}
	}
	superOID, err := s.ensureRole(ctx, "Superuser", "Full access to everything", object.AuthSuperuser)
	if err != nil {
		return "", err
	}
	if _, err := s.ensureRole(ctx, "Reader", "Read-only access", object.AuthReader); err != nil {
		return "", err
	}
	n, err := s.store.Count(ctx, object.TypeUser)
	if err != nil || n > 0 {
		return "", err
	}
	password := initialPassword
	if password == "" {
		password = randomPassword()
		generated = password
	}
	admin := &object.User{Meta: object.Meta{Name: "administrator"}, FullName: "Administrator", Enabled: true, Roles: []string{superOID}}
	if _, err := s.AddSystem(ctx, AddInput{Object: admin, Password: password}); err != nil {
		if isExists(err) { // another node bootstrapped at the same time
			return "", nil
		}
		return "", fmt.Errorf("create administrator: %w", err)
	}
	return generated, nil
}

func (s *Service) ensureRole(ctx context.Context, name, description, auth string) (string, error) {
	if o, err := s.store.GetByName(ctx, object.TypeRole, name); err == nil {
		return o.ObjectMeta().OID, nil
	}
	r := &object.Role{Meta: object.Meta{Name: name}, Description: description, Authorizations: []string{auth}}
	o, err := s.AddSystem(ctx, AddInput{Object: r})
	if isExists(err) {
		o, err = s.store.GetByName(ctx, object.TypeRole, name)
	}
	if err != nil {
		return "", fmt.Errorf("create role %s: %w", name, err)
	}
	return o.ObjectMeta().OID, nil
}

func isExists(err error) bool { return err != nil && errors.Is(err, object.ErrAlreadyExists) }

func randomPassword() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, 16)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
