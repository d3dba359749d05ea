package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/task"
)

// Recompute derives users' computed attributes: GivenName (the first word of
// FullName), FamilyName (the rest) and EffectiveAuthorizations (the
// authorizations of the user's roles, sorted, without duplicates; a role that
// no longer exists grants nothing). A user is written only when something
// changed. Bucketed by OID prefix, a bucket covers the users whose OID falls
// into it; unbucketed, all users. One progress item per user; a user that
// cannot be written is an error item, never a fatal stop.
type Recompute struct {
	repo *repository.Service
}

// NewRecompute returns the recompute handler.
func NewRecompute(repo *repository.Service) taskmanager.Handler {
	return &Recompute{repo: repo}
}

// Validate implements taskmanager.Handler.
func (h *Recompute) Validate(_ map[string]any, b *task.Bucketing) error {
	if b != nil && b.OIDPrefix == nil {
		return errors.New("recompute is bucketed by OID prefix (bucketing.oidPrefix); numeric and explicit bucketing are not supported")
	}
	return nil
}

// Run implements taskmanager.Handler.
func (h *Recompute) Run(ctx context.Context, run *taskmanager.Run) error {
	in := func(string) bool { return true }
	if run.Bucket != nil {
		c := run.Bucket.Content
		if c.OIDFrom == "" && c.OIDTo == "" {
			return fmt.Errorf("recompute bucket %d is not an OID-prefix range", run.Bucket.Seq)
		}
		in = c.ContainsOID
	}
	roles, err := h.roles(ctx)
	if err != nil {
		return err
	}
	var changed, failed int64
	// TODO: with a store query by OID range, a bucket would read only its own users.
	err = eachUser(ctx, repoFor(h.repo, run), run, func(u *object.User) error {
		if !in(u.OID) {
			return nil
		}
		if !derive(u, roles, false) {
			run.Progress(1, 0)
			return nil
		}
		_, err := repoFor(h.repo, run).ModifySystem(ctx, repository.ModifyInput{Type: object.TypeUser, OID: u.OID, Apply: func(o object.Object) error {
			u, ok := o.(*object.User)
			if !ok {
				return fmt.Errorf("object %s is a %T, not a user", o.ObjectMeta().OID, o)
			}
			if !derive(u, roles, true) {
				return errUnchanged
			}
			return nil
		}})
		switch {
		case err == nil:
			changed++
		case errors.Is(err, errUnchanged), errors.Is(err, object.ErrNotFound): // done by someone else, or deleted
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			failed++
			run.Progress(1, 1)
			run.Log.Warn("recompute user failed", "user", u.Name, "oid", u.OID, "err", err)
			return nil
		}
		run.Progress(1, 0)
		return nil
	})
	if errors.Is(err, errStopped) {
		return err
	}
	if err != nil {
		return err
	}
	run.Log.Info("recompute done", "changed", changed, "failed", failed)
	return nil
}

// roles maps every role's OID to its authorizations.
func (h *Recompute) roles(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for offset := 0; ; offset += pageSize {
		page, err := h.repo.Store().Search(ctx, object.Query{Type: object.TypeRole, Limit: pageSize, Offset: offset})
		if err != nil {
			return nil, fmt.Errorf("search roles: %w", err)
		}
		for _, o := range page.Items {
			if r, ok := o.(*object.Role); ok {
				out[r.OID] = r.Authorizations
			}
		}
		if len(page.Items) < pageSize {
			return out, nil
		}
	}
}

// derive computes u's derived attributes and reports whether they differ from
// the stored ones; with apply it also sets them.
func derive(u *object.User, roles map[string][]string, apply bool) bool {
	given, family := "", ""
	if words := strings.Fields(u.FullName); len(words) > 0 {
		given, family = words[0], strings.Join(words[1:], " ")
	}
	var auths []string
	for _, r := range u.Roles {
		auths = append(auths, roles[r]...)
	}
	slices.Sort(auths)
	auths = slices.Compact(auths)
	if given == u.GivenName && family == u.FamilyName && slices.Equal(auths, u.EffectiveAuthorizations) {
		return false
	}
	if apply {
		u.GivenName, u.FamilyName, u.EffectiveAuthorizations = given, family, auths
	}
	return true
}
