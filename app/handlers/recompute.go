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

// Run implements taskmanager.Handler. It reads only the bucket's users, a
// keyset page at a time, and writes a page's changed users together; a user
// changed by someone else meanwhile is recomputed again on its own.
func (h *Recompute) Run(ctx context.Context, run *taskmanager.Run) error {
	var from, to string
	if run.Bucket != nil {
		c := run.Bucket.Content
		if c.OIDFrom == "" && c.OIDTo == "" {
			return fmt.Errorf("recompute bucket %d is not an OID-prefix range", run.Bucket.Seq)
		}
		from, to = c.OIDFrom, c.OIDTo
	}
	roles, err := h.roles(ctx)
	if err != nil {
		return err
	}
	repo := repoFor(h.repo, run)
	var changed, failed int64
	// A checkpoint is the OID of the last user done: a resumed run goes on
	// after it. One is taken after every full page, when more may follow.
	var after string
	if run.Resume != nil {
		after = run.Resume.Position
	}
	err = eachUserPage(ctx, repo, run, from, to, after, func(page []*object.User) error {
		if err := h.recomputePage(ctx, repo, run, page, roles, &changed, &failed); err != nil {
			return err
		}
		if len(page) < pageSize {
			return nil
		}
		return checkpoint(ctx, run, page[len(page)-1].OID)
	})
	if err != nil {
		return err
	}
	run.Log.Info("recompute done", "changed", changed, "failed", failed)
	return nil
}

// recomputePage recomputes one page of users and writes the changed ones together.
func (h *Recompute) recomputePage(ctx context.Context, repo *repository.Service, run *taskmanager.Run, page []*object.User,
	roles map[string][]string, changed, failed *int64) error {
	var batch []repository.Modified
	for _, u := range page {
		if !derive(u, roles, false) {
			run.Progress(1, 0)
			continue
		}
		before := *u
		derive(u, roles, true)
		batch = append(batch, repository.Modified{Before: &before, After: u})
	}
	if len(batch) == 0 {
		return nil
	}
	written, err := repo.WriteManySystem(ctx, batch)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		run.Log.Warn("recompute: writing a page of users together failed; writing them one by one", "users", len(batch), "err", err)
		written = make([]bool, len(batch))
	}
	for i, m := range batch {
		if written[i] {
			*changed++
			run.Progress(1, 0)
			continue
		}
		switch err := h.recomputeOne(ctx, repo, m.After.ObjectMeta().OID, roles); {
		case err == nil:
			*changed++
		case ctx.Err() != nil:
			return ctx.Err()
		case err == errUnchanged:
		case run.DatabaseAway(err): // not the user's fault: the bucket runs again
			return fmt.Errorf("recompute user %s: %w", m.After.ObjectMeta().OID, err)
		default:
			*failed++
			run.Progress(1, 1)
			run.Log.Warn("recompute user failed", "user", m.After.ObjectMeta().Name, "oid", m.After.ObjectMeta().OID, "err", err)
			continue
		}
		run.Progress(1, 0)
	}
	return nil
}

// recomputeOne recomputes one user under the store's row lock; errUnchanged
// when there was nothing to change (done by someone else, or deleted).
func (h *Recompute) recomputeOne(ctx context.Context, repo *repository.Service, oid string, roles map[string][]string) error {
	_, err := repo.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeUser, OID: oid, Apply: func(o object.Object) error {
		u, ok := o.(*object.User)
		if !ok {
			return fmt.Errorf("object %s is a %T, not a user", o.ObjectMeta().OID, o)
		}
		if !derive(u, roles, true) {
			return errUnchanged
		}
		return nil
	}})
	if errors.Is(err, errUnchanged) || errors.Is(err, object.ErrNotFound) {
		return errUnchanged
	}
	return err
}

// roles maps every role's OID to its authorizations.
func (h *Recompute) roles(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for after := ""; ; {
		page, err := h.repo.Store().Search(ctx, object.Query{Type: object.TypeRole, Limit: pageSize, After: after})
		if err != nil {
			return nil, fmt.Errorf("search roles: %w", err)
		}
		for _, o := range page.Items {
			if r, ok := o.(*object.Role); ok {
				out[r.OID] = r.Authorizations
			}
		}
		if after = page.Next; after == "" {
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
