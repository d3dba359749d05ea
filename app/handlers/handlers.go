package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/task"
)

// Handler names, as tasks refer to them.
const (
	NameNoop      = "noop"
	NameRecompute = "recompute"
	NameImport    = "import"
	NameReconcile = "reconcile"
	NameLiveSync  = "livesync"
	NameReport    = "report"
	NameCleanup   = "cleanup"
)

// Deps are what the handlers of All work with.
type Deps struct {
	Repo *repository.Service
	// CSV reads resources for import, reconcile and livesync.
	CSV Resource
	// Reports stores report files on this node's disk (${midpoint.home}/reports).
	Reports ReportFiles
	// Tasks and Sessions are cleaned by cleanup; a nil one is skipped.
	Tasks    TaskCleaner
	Sessions SessionCleaner
	// Nodes are the dead node rows cleanup removes; nil skips that step.
	Nodes NodeCleaner
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ApprovalPause holds an approval run between giving the role and
	// marking its case applied; only tests set it (to kill a node there).
	ApprovalPause time.Duration
}

// All returns the repository handlers keyed by name: recompute, import,
// reconcile, livesync, report, cleanup and approval (noop is built by NewNoop).
func All(deps Deps) map[string]taskmanager.Handler {
	return map[string]taskmanager.Handler{
		NameRecompute: NewRecompute(deps.Repo),
		NameImport:    NewImport(deps.Repo, deps.CSV),
		NameReconcile: NewReconcile(deps.Repo, deps.CSV),
		NameLiveSync:  NewLiveSync(deps.Repo, deps.CSV),
		NameReport:    NewReport(deps.Repo, deps.Reports, deps.Now),
		NameCleanup:   NewCleanup(deps.Tasks, deps.Sessions, deps.Nodes, deps.Now),
		NameApproval:  NewApproval(deps.Repo, deps.Now, deps.ApprovalPause),
	}
}

// administrator is the bootstrap user; resources never manage it.
const administrator = "administrator"

func isAdministrator(name string) bool { return object.NormalizeName(name) == administrator }

// pageSize is how many objects one repository search returns.
const pageSize = 500

// errStopped ends a walk early because the run is stopping.
var errStopped = taskmanager.ErrStopped

// eachUser calls fn for every user in the OID range [from, to) ("" leaves an
// end open), in OID order, a keyset page of pageSize at a time: each page
// costs the same however far into the users it is.
func eachUser(ctx context.Context, repo *repository.Service, run *taskmanager.Run, from, to string, fn func(u *object.User) error) error {
	return eachUserPage(ctx, repo, run, from, to, "", func(page []*object.User) error {
		for _, u := range page {
			if run.Stopping() {
				return errStopped
			}
			if err := fn(u); err != nil {
				return err
			}
		}
		return nil
	})
}

// eachUserPage is eachUser a page at a time, starting after the OID after
// ("" for the start of the range): where a resumed run left off.
func eachUserPage(ctx context.Context, repo *repository.Service, run *taskmanager.Run, from, to, after string, fn func(page []*object.User) error) error {
	rg := object.OIDRange{Type: object.TypeUser, From: from, To: to, After: after, Limit: pageSize}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if run.Stopping() {
			return errStopped
		}
		objs, err := repo.Store().ListByOID(ctx, rg)
		if err != nil {
			return fmt.Errorf("list users after %q: %w", rg.After, err)
		}
		page := make([]*object.User, 0, len(objs))
		for _, o := range objs {
			u, ok := o.(*object.User)
			if !ok {
				return fmt.Errorf("object %s is a %T, not a user", o.ObjectMeta().OID, o)
			}
			page = append(page, u)
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if len(objs) < rg.Limit {
			return nil
		}
		rg.After = objs[len(objs)-1].ObjectMeta().OID
	}
}

// eachUserByName calls fn for every user in name order, a page of pageSize
// at a time (by keyset on the name, so the last page costs what the first
// does: for reports, whose readers expect name order).
// It returns errStopped when the run is stopping, and fn's first error.
func eachUserByName(ctx context.Context, repo *repository.Service, run *taskmanager.Run, fn func(u *object.User) error) error {
	for after := ""; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := repo.Store().Search(ctx, object.Query{Type: object.TypeUser, Limit: pageSize, After: after})
		if err != nil {
			return fmt.Errorf("search users after %q: %w", after, err)
		}
		for _, o := range page.Items {
			if run.Stopping() {
				return errStopped
			}
			u, ok := o.(*object.User)
			if !ok {
				return fmt.Errorf("object %s is a %T, not a user", o.ObjectMeta().OID, o)
			}
			if err := fn(u); err != nil {
				return err
			}
		}
		if after = page.Next; after == "" {
			return nil
		}
	}
}

// resourceParam reads the required `resource` parameter.
func resourceParam(params map[string]any) (string, error) {
	v, ok := params["resource"]
	if !ok {
		return "", errors.New(`parameter "resource" is required: the path of the CSV file`)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf(`parameter "resource" must be a string (a file path), not %T`, v)
	}
	if strings.TrimSpace(s) == "" {
		return "", errors.New(`parameter "resource" must not be empty: the path of the CSV file`)
	}
	return strings.TrimSpace(s), nil
}

// checkResource reads the `resource` parameter and checks that the file lies
// where resources may be read from, without reading it.
func checkResource(csv Resource, params map[string]any) error {
	path, err := resourceParam(params)
	if err != nil {
		return err
	}
	if _, err := csv.Resolve(path); err != nil {
		return fmt.Errorf(`parameter "resource": %w`, err)
	}
	return nil
}

// optionalString reads an optional string parameter.
func optionalString(params map[string]any, key string) (string, error) {
	v, ok := params[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("parameter %q must be a string, not %T", key, v)
	}
	return strings.TrimSpace(s), nil
}

// rejectBucketing is the Validate rule of handlers that run over everything at once.
func rejectBucketing(handler, why string, b *task.Bucketing) error {
	if b != nil {
		return fmt.Errorf("%s cannot be bucketed: %s; remove the bucketing", handler, why)
	}
	return nil
}

// repoFor is the repository a run should use: the run's own, which reads
// through its local cache, or the handler's.
func repoFor(def *repository.Service, run *taskmanager.Run) *repository.Service {
	if run != nil && run.Repo != nil {
		return run.Repo
	}
	return def
}
