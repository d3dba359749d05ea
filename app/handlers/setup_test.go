package handlers_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"golang.org/x/crypto/bcrypt"

	"cadre/app/auth"
	"cadre/app/handlers"
	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/object"
	"cadre/domain/task"
	"cadre/infrastructure/csvres"
	"cadre/infrastructure/gormrepo"
	"cadre/infrastructure/reportfiles"
)

// env is a repository on a real SQLite database with the handlers over it.
type env struct {
	repo     *repository.Service
	store    *gormrepo.Repo
	dir      string // for resources
	reports  *reportfiles.Dir
	handlers map[string]taskmanager.Handler
	tasks    *fakeTasks
	now      time.Time

	superOID, readerOID, adminOID string
}

// fakeTasks stands in for the task store's DeleteClosedTasksBefore.
type fakeTasks struct {
	mu     sync.Mutex
	before time.Time
	n      int64
	err    error
}

func (f *fakeTasks) DeleteClosedTasksBefore(_ context.Context, t time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.before = t
	return f.n, f.err
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	d, err := db.Open(ctx, db.Options{URL: dbtest.URL(t, "sqlite")})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), "create", "upgrade", slog.Default()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	store := gormrepo.New(d)
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	e := &env{
		repo:    repository.NewService(store, auth.BcryptHasher{Cost: bcrypt.MinCost}, time.Now, slog.Default()),
		store:   store,
		dir:     t.TempDir(),
		reports: reportfiles.New(filepath.Join(t.TempDir(), "reports")),
		tasks:   &fakeTasks{},
		now:     now,
	}
	e.handlers = handlers.All(handlers.Deps{Repo: e.repo, CSV: csvres.New(e.dir), Reports: e.reports,
		Tasks: e.tasks, Sessions: store, Now: func() time.Time { return now }})
	e.superOID = e.add(t, &object.Role{Meta: object.Meta{Name: "Superuser"}, Authorizations: []string{object.AuthSuperuser}}).OID
	e.readerOID = e.add(t, &object.Role{Meta: object.Meta{Name: "Reader"}, Authorizations: []string{object.AuthReader}}).OID
	// No password: bcrypt stays out of these tests. A fixed OID outside the
	// "0" prefix, so OID-bucket tests know which bucket holds it.
	e.adminOID = e.add(t, &object.User{Meta: object.Meta{OID: "a0000000-0000-4000-8000-00000000ad00", Name: "administrator"}, FullName: "Administrator",
		Enabled: true, Roles: []string{e.superOID}}).OID
	return e
}

func (e *env) add(t *testing.T, o object.Object) *object.Meta {
	t.Helper()
	if _, err := e.repo.AddSystem(t.Context(), repository.AddInput{Object: o}); err != nil {
		t.Fatalf("add %s %q: %v", o.Type(), o.ObjectMeta().Name, err)
	}
	return o.ObjectMeta()
}

func (e *env) user(t *testing.T, name string) *object.User {
	t.Helper()
	o, err := e.store.GetByName(t.Context(), object.TypeUser, name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return o.(*object.User)
}

// users reads every user by name.
func (e *env) users(t *testing.T) map[string]*object.User {
	t.Helper()
	out := map[string]*object.User{}
	for offset := 0; ; offset += 1000 {
		page, err := e.store.Search(t.Context(), object.Query{Type: object.TypeUser, Limit: 1000, Offset: offset})
		if err != nil {
			t.Fatalf("search users: %v", err)
		}
		for _, o := range page.Items {
			out[o.ObjectMeta().Name] = o.(*object.User)
		}
		if len(page.Items) < 1000 {
			return out
		}
	}
}

// writeCSV writes a resource file and returns its path.
func (e *env) writeCSV(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// result is what one handler run did.
type result struct {
	items, errs int64
	token       string
	logs        string
	err         error
	// checkpoints are the positions the run recorded, in order.
	checkpoints []string
}

// lockedBuffer collects log output from concurrent runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runOpts shape one hand-built run.
type runOpts struct {
	bucket   *task.Content
	token    string
	stopping func() bool
	// resume is the checkpoint the run starts from; attempts the finished
	// attempts before it (of the bucket, or of the task's run).
	resume   *task.Checkpoint
	attempts int64
}

// run calls a handler directly with a hand-built taskmanager.Run.
func (e *env) run(t *testing.T, handler string, params map[string]any, o runOpts) result {
	t.Helper()
	h, ok := e.handlers[handler]
	if !ok {
		t.Fatalf("no handler %q", handler)
	}
	var items, errs atomic.Int64
	var logs lockedBuffer
	tk := &task.Task{OID: uuid.NewString(), Name: handler + " task",
		Handler: handler, Params: params, Token: o.token}
	res := result{token: o.token}
	run := &taskmanager.Run{
		Task: tk, Node: "node-7",
		Log:      slog.New(slog.NewTextHandler(&logs, nil)),
		Progress: func(i, e int64) { items.Add(i); errs.Add(e) },
		Stopping: func() bool { return false },
		SetToken: func(tok string) { res.token = tok },
		Resume:   o.resume,
		Checkpoint: func(_ context.Context, position string) error {
			res.checkpoints = append(res.checkpoints, position)
			return nil
		},
	}
	tk.Attempts = o.attempts
	if o.stopping != nil {
		run.Stopping = o.stopping
	}
	if o.bucket != nil {
		run.Bucket = &task.Bucket{TaskOID: tk.OID, Seq: 1, State: task.BucketDelegated, Epoch: 1, Content: *o.bucket, Attempts: o.attempts}
	}
	res.err = h.Run(t.Context(), run)
	res.items, res.errs, res.logs = items.Load(), errs.Load(), logs.String()
	return res
}

func numeric(from, to int64) *task.Content { return &task.Content{From: &from, To: &to} }

// csvOf builds a resource file's text from a header and rows.
func csvOf(header string, rows ...string) string {
	return header + "\n" + strings.Join(rows, "\n") + "\n"
}
