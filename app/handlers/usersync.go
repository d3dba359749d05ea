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

// syncRows applies rows one by one: one progress item per row, a failing row
// is an error with a log line naming its line, never a fatal stop. names, when
// not nil, collects the normalized names the rows mention. It returns
// errStopped when the run is stopping, and ctx's error when it ends.
func syncRows(ctx context.Context, repo *repository.Service, run *taskmanager.Run, resource string, rows []Row, c *syncCounts, names map[string]bool) error {
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if run.Stopping() {
			return errStopped
		}
		if n := strings.TrimSpace(r.Fields["name"]); r.Err != nil || n == "" {
			c.unreadable++
		} else if names != nil {
			names[object.NormalizeName(n)] = true
		}
		ru, err := parseRow(r)
		var out outcome
		if err == nil {
			out, err = syncUser(ctx, repo, ru)
		}
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			c.failed++
			run.Progress(1, 1)
			run.Log.Warn("resource row failed", "resource", resource, "line", r.Line, "err", err)
			continue
		}
		switch out {
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
