package repository

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"cadre/domain/object"
)

// ErrLastSuperuser refuses a change after which no enabled user would hold a
// role with the superuser authorization: nobody could manage the cluster.
var ErrLastSuperuser = fmt.Errorf(`%w: rule "keep a superuser": the change would leave no enabled user with a superuser role, `+
	`and nobody could manage the cluster; give another enabled user a superuser role first`, object.ErrInvalid)

// guardSuperusers refuses (ErrLastSuperuser) a modification (apply) or a
// deletion (apply nil) of a user or role that holds superuser rights now and
// after which no enabled superuser would remain: removing the role from the
// last one, disabling or deleting them, or taking the authorization from (or
// deleting) the last superuser role. Other changes pass without a scan.
// Errors reading the object are left to the change itself to report.
func (s *Service) guardSuperusers(ctx context.Context, t object.Type, oid string, apply func(object.Object) error) error {
	if t != object.TypeUser && t != object.TypeRole {
		return nil
	}
	before, err := s.store.Get(ctx, t, oid)
	if err != nil {
		return nil
	}
	if ok, err := s.grantsSuperuser(ctx, before, nil); err != nil || !ok {
		return err
	}
	var after object.Object // nil: deleted
	if apply != nil {
		after = clone(before)
		if err := apply(after); err != nil {
			return nil // the modification reports it
		}
	}
	remains, err := s.superuserRemains(ctx, t, oid, after)
	if err != nil {
		return fmt.Errorf("check that a superuser remains: %w", err)
	}
	if !remains {
		return ErrLastSuperuser
	}
	return nil
}

// grantsSuperuser tells whether o gives superuser rights: a role with the
// authorization, or an enabled user with such a role (superRoles, or read).
func (s *Service) grantsSuperuser(ctx context.Context, o object.Object, superRoles map[string]bool) (bool, error) {
	switch x := o.(type) {
	case *object.Role:
		return slices.Contains(x.Authorizations, object.AuthSuperuser), nil
	case *object.User:
		if !x.Enabled {
			return false, nil
		}
		for _, r := range x.Roles {
			if superRoles != nil {
				if superRoles[r] {
					return true, nil
				}
				continue
			}
			ro, err := s.store.Get(ctx, object.TypeRole, r)
			if errors.Is(err, object.ErrNotFound) {
				continue
			}
			if err != nil {
				return false, err
			}
			if slices.Contains(ro.(*object.Role).Authorizations, object.AuthSuperuser) {
				return true, nil
			}
		}
	}
	return false, nil
}

// superuserRemains scans roles and users as they would be with the object
// (t, oid) replaced by after (nil: deleted) and tells whether an enabled
// user with a superuser role remains.
func (s *Service) superuserRemains(ctx context.Context, t object.Type, oid string, after object.Object) (bool, error) {
	superRoles := map[string]bool{}
	err := s.each(ctx, object.TypeRole, func(o object.Object) (bool, error) {
		if t == object.TypeRole && o.ObjectMeta().OID == oid {
			if o = after; o == nil {
				return false, nil
			}
		}
		if ok, _ := s.grantsSuperuser(ctx, o, nil); ok {
			superRoles[o.ObjectMeta().OID] = true
		}
		return false, nil
	})
	if err != nil || len(superRoles) == 0 {
		return false, err
	}
	found := false
	err = s.each(ctx, object.TypeUser, func(o object.Object) (bool, error) {
		if t == object.TypeUser && o.ObjectMeta().OID == oid {
			if o = after; o == nil {
				return false, nil
			}
		}
		ok, err := s.grantsSuperuser(ctx, o, superRoles)
		found = ok
		return ok, err
	})
	return found, err
}

// each calls fn for every object of type t, a page at a time, until fn says stop.
func (s *Service) each(ctx context.Context, t object.Type, fn func(object.Object) (stop bool, err error)) error {
	const page = 1000
	for after := ""; ; {
		p, err := s.store.Search(ctx, object.Query{Type: t, Limit: page, After: after})
		if err != nil {
			return err
		}
		for _, o := range p.Items {
			if stop, err := fn(o); stop || err != nil {
				return err
			}
		}
		if after = p.Next; after == "" {
			return nil
		}
	}
}
