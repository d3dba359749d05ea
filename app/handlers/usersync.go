package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
)

// rowUser is a user as one resource row describes it. A nil field is a
// column the resource does not have: the row leaves that attribute alone.
type rowUser struct {
	line     int
	name     string
	fullName *string
	email    *string
	enabled  *bool
}

// parseRow reads a resource row: `name` (required), `fullName`,
// `emailAddress`, `enabled` (true/false; empty means true).
func parseRow(r Row) (rowUser, error) {
	if r.Err != nil {
		return rowUser{}, r.Err
	}
	ru := rowUser{line: r.Line, name: strings.TrimSpace(r.Fields["name"])}
	if ru.name == "" {
		return rowUser{}, errors.New("name is empty")
	}
	if v, ok := r.Fields["fullName"]; ok {
		ru.fullName = &v
	}
	if v, ok := r.Fields["emailAddress"]; ok {
		ru.email = &v
	}
	if v, ok := r.Fields["enabled"]; ok {
		enabled := true
		if v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return rowUser{}, fmt.Errorf("enabled is %q, not true or false", v)
			}
			enabled = b
		}
		ru.enabled = &enabled
	}
	return ru, nil
}

// differs reports whether applying the row would change u.
func (ru rowUser) differs(u *object.User) bool {
	return (ru.fullName != nil && *ru.fullName != u.FullName) ||
		(ru.email != nil && *ru.email != u.EmailAddress) ||
		(ru.enabled != nil && *ru.enabled != u.Enabled)
}

func (ru rowUser) applyTo(u *object.User) {
	if ru.fullName != nil {
		u.FullName = *ru.fullName
	}
	if ru.email != nil {
		u.EmailAddress = *ru.email
	}
	if ru.enabled != nil {
		u.Enabled = *ru.enabled
	}
}

// outcome is what applying a row did.
type outcome int

const (
	unchanged outcome = iota
	created
	updated
)

// errUnchanged aborts a modification that would change nothing.
var errUnchanged = errors.New("unchanged")

// syncUser makes the repository user named by the row match it: creates the
// user when missing, updates the row's attributes when they differ, and
// otherwise changes nothing, so that applying a row twice is harmless.
func syncUser(ctx context.Context, repo *repository.Service, ru rowUser) (outcome, error) {
	if isAdministrator(ru.name) {
		return unchanged, fmt.Errorf("user %s is not managed by resources; row ignored", administrator)
	}
	o, err := repo.Store().GetByName(ctx, object.TypeUser, ru.name)
	if errors.Is(err, object.ErrNotFound) {
		u := &object.User{Meta: object.Meta{Name: ru.name}, Enabled: true}
		ru.applyTo(u)
		_, err = repo.AddSystem(ctx, repository.AddInput{Object: u})
		if err == nil {
			return created, nil
		}
		if !errors.Is(err, object.ErrAlreadyExists) {
			return unchanged, fmt.Errorf("add user %s: %w", ru.name, err)
		}
		// Added meanwhile by another worker: update it instead.
		o, err = repo.Store().GetByName(ctx, object.TypeUser, ru.name)
	}
	if err != nil {
		return unchanged, fmt.Errorf("read user %s: %w", ru.name, err)
	}
	u, ok := o.(*object.User)
	if !ok {
		return unchanged, fmt.Errorf("object %s is a %T, not a user", o.ObjectMeta().OID, o)
	}
	if !ru.differs(u) {
		return unchanged, nil
	}
	_, err = repo.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeUser, OID: u.OID, Apply: func(o object.Object) error {
		u, ok := o.(*object.User)
		if !ok {
			return fmt.Errorf("object %s is a %T, not a user", o.ObjectMeta().OID, o)
		}
		if !ru.differs(u) { // someone else made the same change meanwhile
			return errUnchanged
		}
		ru.applyTo(u)
		return nil
	}})
	switch {
	case errors.Is(err, errUnchanged):
		return unchanged, nil
	case err != nil:
		return unchanged, fmt.Errorf("modify user %s: %w", ru.name, err)
	}
	return updated, nil
}

// syncCounts tallies what a run did with the rows, for its closing log line.
type syncCounts struct {
	created, updated, unchanged, failed, disabled int64
	// unreadable counts rows whose user is unknown: malformed or without a name.
	unreadable int64
}

// syncRows applies rows in order: one progress item per row, a failing row
// is an error with a log line naming its line, never a fatal stop. names, when
// not nil, collects the normalized names the rows mention. Rows go a chunk of
// pageSize at a time: one query reads the chunk's existing users, one
// statement adds the new ones and one writes the changed ones; a row the
// batch cannot take (a name repeated in the chunk, a user changed meanwhile,
// a batch that failed) is applied on its own, in its place. After every
// chunk but the last the run takes a checkpoint at position(rows done), when
// position is not nil. It returns errStopped when the run is stopping, and
// ctx's error when it ends.
func syncRows(ctx context.Context, repo *repository.Service, run *taskmanager.Run, resource string, rows []Row, c *syncCounts, names map[string]bool,
	position func(done int) string) error {
	for start := 0; start < len(rows); start += pageSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		if run.Stopping() {
			return errStopped
		}
		end := min(start+pageSize, len(rows))
		if err := syncChunk(ctx, repo, run, resource, rows[start:end], c, names); err != nil {
			return err
		}
		if position != nil && end < len(rows) {
			if err := checkpoint(ctx, run, position(end)); err != nil {
				return err
			}
		}
	}
	return nil
}

// noteRow counts a row whose user is unknown and adds the named user to
// names (when not nil): what syncChunk notes of every row it applies, and a
// resumed run of the rows before its checkpoint.
func noteRow(r Row, c *syncCounts, names map[string]bool) {
	if n := strings.TrimSpace(r.Fields["name"]); r.Err != nil || n == "" {
		c.unreadable++
	} else if names != nil {
		names[object.NormalizeName(n)] = true
	}
}

// syncChunk is syncRows for one chunk of rows.
func syncChunk(ctx context.Context, repo *repository.Service, run *taskmanager.Run, resource string, rows []Row, c *syncCounts, names map[string]bool) error {
	type rowState struct {
		ru   rowUser
		out  outcome
		err  error
		solo bool // applied on its own after the batch
	}
	st := make([]rowState, len(rows))
	mentions := map[string]int{}
	var lookup []string
	for i, r := range rows {
		noteRow(r, c, names)
		st[i].ru, st[i].err = parseRow(r)
		if st[i].err != nil {
			continue
		}
		n := object.NormalizeName(st[i].ru.name)
		if mentions[n] == 0 {
			lookup = append(lookup, st[i].ru.name)
		}
		mentions[n]++
	}
	existing, err := repo.Store().GetByNames(ctx, object.TypeUser, lookup)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		run.Log.Warn("reading a chunk's users at once failed; applying its rows one by one", "resource", resource, "err", err)
	}
	var (
		adds   []object.Object
		addAt  []int
		mods   []repository.Modified
		modAt  []int
		userOf = func(o object.Object) (*object.User, bool) { u, ok := o.(*object.User); return u, ok }
	)
	for i := range st {
		s := &st[i]
		if s.err != nil {
			continue
		}
		n := object.NormalizeName(s.ru.name)
		if existing == nil || mentions[n] > 1 || isAdministrator(s.ru.name) {
			s.solo = true
			continue
		}
		o, found := existing[n]
		if !found {
			u := &object.User{Meta: object.Meta{Name: s.ru.name}, Enabled: true}
			s.ru.applyTo(u)
			adds, addAt = append(adds, u), append(addAt, i)
			continue
		}
		u, ok := userOf(o)
		if !ok || !s.ru.differs(u) {
			s.solo = !ok
			continue // unchanged
		}
		before := *u
		s.ru.applyTo(u)
		mods, modAt = append(mods, repository.Modified{Before: &before, After: u}), append(modAt, i)
	}
	if len(adds) > 0 {
		err := repo.AddManySystem(ctx, adds)
		for _, i := range addAt {
			st[i].out, st[i].solo = created, err != nil
		}
	}
	if len(mods) > 0 {
		written, err := repo.WriteManySystem(ctx, mods)
		for k, i := range modAt {
			st[i].out, st[i].solo = updated, err != nil || !written[k]
		}
	}
	for i, r := range rows {
		s := &st[i]
		if s.solo {
			if run.Stopping() {
				return errStopped
			}
			s.out, s.err = syncUser(ctx, repo, s.ru)
		}
		if s.err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			if run.DatabaseAway(s.err) { // not the row's fault: the bucket runs again
				return fmt.Errorf("line %d: %w", r.Line, s.err)
			}
			c.failed++
			run.Progress(1, 1)
			run.Log.Warn("resource row failed", "resource", resource, "line", r.Line, "err", s.err)
			continue
		}
		switch s.out {
		case created:
			c.created++
		case updated:
			c.updated++
		default:
			c.unchanged++
		}
		run.Progress(1, 0)
	}
	return nil
}
