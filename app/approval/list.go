package approval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"cadre/domain/object"
	"cadre/domain/security"
)

// Entry is a case with the names of the people and the role it names, for
// people to read; a name is "" when its object is gone.
type Entry struct {
	*object.Case
	UserName, RoleName, RequesterName, DeciderName string
}

// Cases are the cases a person may decide: the open ones, oldest first, and
// the most recently decided ones, newest first.
type Cases struct {
	Open    []Entry
	Decided []Entry
}

// listPage is how many cases one repository search reads.
const listPage = 1000

// List returns the cases p may decide (superusers: all; others: those of
// the roles they approve), open and, at most decidedLimit, decided. Cases
// are few (each is a person's request), so it reads them all.
func (s *Service) List(ctx context.Context, p security.Principal, decidedLimit int) (Cases, error) {
	names := nameCache{s: s, known: map[string]string{}}
	var out Cases
	for offset := 0; ; offset += listPage {
		page, err := s.repo.Store().Search(ctx, object.Query{Type: object.TypeCase, Limit: listPage, Offset: offset})
		if err != nil {
			return Cases{}, fmt.Errorf("list cases: %w", err)
		}
		for _, o := range page.Items {
			c := o.(*object.Case)
			if c.User == p.UserOID && !s.opts.SelfApproval && c.State == object.CaseOpen {
				continue // not theirs to decide (ErrSelfApproval)
			}
			if ok, err := names.mayDecide(ctx, p, c.Role); err != nil || !ok {
				if err != nil {
					return Cases{}, err
				}
				continue
			}
			if c.State == object.CaseOpen {
				out.Open = append(out.Open, Entry{Case: c})
			} else {
				out.Decided = append(out.Decided, Entry{Case: c})
			}
		}
		if len(page.Items) < listPage {
			break
		}
	}
	slices.SortFunc(out.Open, func(a, b Entry) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.OID, b.OID)) })
	slices.SortFunc(out.Decided, func(a, b Entry) int { return cmp.Or(b.DecidedAt.Compare(*a.DecidedAt), cmp.Compare(a.OID, b.OID)) })
	if len(out.Decided) > decidedLimit {
		out.Decided = out.Decided[:decidedLimit]
	}
	for _, list := range [][]Entry{out.Open, out.Decided} {
		for i := range list {
			if err := names.fill(ctx, &list[i]); err != nil {
				return Cases{}, err
			}
		}
	}
	return out, nil
}

// nameCache reads each user and role once per listing.
type nameCache struct {
	s     *Service
	known map[string]string // OID → name
	roles map[string]*object.Role
}

func (n *nameCache) role(ctx context.Context, oid string) (*object.Role, error) {
	if r, ok := n.roles[oid]; ok {
		return r, nil
	}
	o, err := n.s.repo.Store().Get(ctx, object.TypeRole, oid)
	if errors.Is(err, object.ErrNotFound) {
		o, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read role %s: %w", oid, err)
	}
	if n.roles == nil {
		n.roles = map[string]*object.Role{}
	}
	r, _ := o.(*object.Role)
	n.roles[oid] = r
	return r, nil
}

func (n *nameCache) mayDecide(ctx context.Context, p security.Principal, roleOID string) (bool, error) {
	if p.CanWrite() {
		return true, nil
	}
	r, err := n.role(ctx, roleOID)
	return r != nil && r.IsApprover(p.UserOID), err
}

func (n *nameCache) fill(ctx context.Context, e *Entry) error {
	r, err := n.role(ctx, e.Role)
	if err != nil {
		return err
	}
	if r != nil {
		e.RoleName = r.Name
	}
	for _, f := range []struct {
		oid  string
		name *string
	}{{e.User, &e.UserName}, {e.Requester, &e.RequesterName}, {e.DecidedBy, &e.DeciderName}} {
		if f.oid == "" {
			continue
		}
		if *f.name, err = n.user(ctx, f.oid); err != nil {
			return err
		}
	}
	return nil
}

func (n *nameCache) user(ctx context.Context, oid string) (string, error) {
	if name, ok := n.known[oid]; ok {
		return name, nil
	}
	o, err := n.s.repo.Store().Get(ctx, object.TypeUser, oid)
	if errors.Is(err, object.ErrNotFound) {
		n.known[oid] = ""
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read user %s: %w", oid, err)
	}
	n.known[oid] = o.ObjectMeta().Name
	return n.known[oid], nil
}
