package repository

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"cadre/domain/object"
	"cadre/domain/security"
)

// Written is an object a person added or modified, and the approval cases
// the write opened for the roles it could not give at once.
type Written struct {
	Object object.Object
	// Cases are the open cases of the roles held back, one per role, in the
	// order the write gave the roles. A case still open for the same user and
	// role is reused rather than opened twice.
	Cases []*object.Case
}

// AddWithApproval is Add that also reports the roles held back for
// approval: a new user's roles that have approvers, given by someone who is
// not one of them, are left out of the stored user and each gets an open
// case instead. The other roles are given as usual.
func (s *Service) AddWithApproval(ctx context.Context, p security.Principal, in AddInput) (Written, error) {
	if err := p.RequireWrite(); err != nil {
		return Written{}, err
	}
	if in.Object.Type() == object.TypeCase {
		return Written{}, object.ErrCaseReadOnly
	}
	var held []*object.Role
	if u, ok := in.Object.(*object.User); ok {
		var err error
		if held, err = s.holdRoles(ctx, p, u, nil); err != nil {
			return Written{}, err
		}
	}
	o, err := s.AddSystem(ctx, in)
	if err != nil {
		return Written{}, err
	}
	cases, err := s.openCases(ctx, p, o, held)
	return Written{Object: o, Cases: cases}, err
}

// ModifyWithApproval is Modify that also reports the roles held back for
// approval (see AddWithApproval): roles a modification adds to a user are
// held when they need approval; the rest of the modification is stored.
func (s *Service) ModifyWithApproval(ctx context.Context, p security.Principal, in ModifyInput) (Written, error) {
	if err := p.RequireWrite(); err != nil {
		return Written{}, err
	}
	if in.Type == object.TypeCase {
		return Written{}, object.ErrCaseReadOnly
	}
	if err := s.guardSuperusers(ctx, in.Type, in.OID, in.Apply); err != nil {
		return Written{}, err
	}
	var held []*object.Role
	apply := in.Apply
	in.Apply = func(o object.Object) error {
		held = nil
		var had []string
		if u, ok := o.(*object.User); ok {
			had = slices.Clone(u.Roles)
		}
		if err := apply(o); err != nil {
			return err
		}
		u, ok := o.(*object.User)
		if !ok {
			return nil
		}
		var err error
		held, err = s.holdRoles(ctx, p, u, had)
		return err
	}
	after, err := s.ModifySystem(ctx, in)
	if err != nil {
		return Written{}, err
	}
	cases, err := s.openCases(ctx, p, after, held)
	return Written{Object: after, Cases: cases}, err
}

// holdRoles takes out of u.Roles the roles added (not in had) that need
// approval when p gives them, and returns them; the roles it keeps are
// rewritten as OIDs (a role may be given by name).
func (s *Service) holdRoles(ctx context.Context, p security.Principal, u *object.User, had []string) ([]*object.Role, error) {
	var held []*object.Role
	kept := make([]string, 0, len(u.Roles))
	for _, ref := range u.Roles {
		if slices.Contains(had, ref) {
			kept = append(kept, ref)
			continue
		}
		oid, err := s.roleOID(ctx, ref)
		if err != nil {
			return nil, err
		}
		o, err := s.store.Get(ctx, object.TypeRole, oid)
		if err != nil {
			return nil, fmt.Errorf("read role %s: %w", oid, err)
		}
		r := o.(*object.Role)
		if !r.NeedsApproval(p.UserOID) || slices.Contains(had, oid) {
			kept = append(kept, oid)
			continue
		}
		if !slices.ContainsFunc(held, func(h *object.Role) bool { return h.OID == oid }) {
			held = append(held, r)
		}
	}
	u.Roles = kept
	return held, nil
}

// openCases opens a case for each held role of user u (o), requested by p,
// in one store call, reusing the cases still open for the same user and role.
func (s *Service) openCases(ctx context.Context, p security.Principal, o object.Object, held []*object.Role) ([]*object.Case, error) {
	if len(held) == 0 {
		return nil, nil
	}
	u := o.(*object.User)
	open, err := s.openCasesOf(ctx, u.OID)
	if err != nil {
		return nil, fmt.Errorf("find open cases of user %s: %w", u.OID, err)
	}
	var out []*object.Case
	var added []object.Object
	for _, r := range held {
		if c, ok := open[r.OID]; ok {
			out = append(out, c)
			continue
		}
		oid := uuid.NewString()
		c := object.NewCase(fmt.Sprintf("%s for %s (%s)", clip(r.Name), clip(u.Name), oid), p.UserOID, u.OID, r.OID)
		c.OID = oid
		out = append(out, c)
		added = append(added, c)
	}
	if err := s.AddManySystem(ctx, added); err != nil {
		return nil, fmt.Errorf("open approval cases for user %s: %w", u.OID, err)
	}
	for _, c := range out {
		s.log.InfoContext(ctx, "role held for approval", "case", c.OID, "user", u.OID, "role", c.Role, "requester", p.UserOID)
	}
	return out, nil
}

// openCasesOf returns the open cases of a user, by role OID.
func (s *Service) openCasesOf(ctx context.Context, user string) (map[string]*object.Case, error) {
	open := map[string]*object.Case{}
	err := s.each(ctx, object.TypeCase, func(o object.Object) (bool, error) {
		if c := o.(*object.Case); c.State == object.CaseOpen && c.User == user {
			open[c.Role] = c
		}
		return false, nil
	})
	return open, err
}

// clip shortens a name for a case's name, which must stay under 255 bytes.
func clip(name string) string {
	const most = 100
	for i := range name {
		if i > most {
			return name[:i] + "…"
		}
	}
	return name
}

// resolveApprovers checks that the approvers a role gains (compared with
// before, nil for a new role) are users, and rewrites them as OIDs: an
// approver may be given by name.
func (s *Service) resolveApprovers(ctx context.Context, r *object.Role, before object.Object) error {
	var had []string
	if b, ok := before.(*object.Role); ok {
		had = b.Approvers
	}
	for i, ref := range r.Approvers {
		if slices.Contains(had, ref) {
			continue
		}
		if _, err := s.store.Get(ctx, object.TypeUser, ref); err == nil {
			continue
		}
		o, err := s.store.GetByName(ctx, object.TypeUser, ref)
		if err != nil {
			return fmt.Errorf("%w: approver %q is not a user (give a user's OID or name)", object.ErrInvalid, ref)
		}
		r.Approvers[i] = o.ObjectMeta().OID
	}
	return nil
}
