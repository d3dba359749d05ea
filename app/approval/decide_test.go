package approval_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"cadre/app/approval"
	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/object"
	"cadre/domain/security"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
)

// fakeTasks records what decisions do with approval tasks.
type fakeTasks struct {
	mu                        sync.Mutex
	created, resumed, deleted []string
}

func (f *fakeTasks) Create(_ context.Context, in taskmanager.CreateTask) (*task.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.Handler != approval.HandlerName || !in.Suspended || in.Params[approval.ParamCase] == "" {
		return nil, errors.New("not a suspended approval task")
	}
	t := &task.Task{OID: uuid.NewString(), State: task.Suspended}
	f.created = append(f.created, t.OID)
	return t, nil
}

func (f *fakeTasks) Resume(_ context.Context, oid string) (*task.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumed = append(f.resumed, oid)
	return &task.Task{OID: oid, State: task.Runnable}, nil
}

func (f *fakeTasks) Delete(_ context.Context, oid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, oid)
	return nil
}

type env struct {
	repo  *repository.Service
	svc   *approval.Service
	tasks *fakeTasks
	// admin is a superuser who approves nothing; alice approves the role;
	// rita only reads.
	admin, alice, rita security.Principal
	caseOID, role      string
}

// setup opens a case: the administrator gives jack the role Auditor, whose
// approver is alice.
func setup(t *testing.T, dialect string) *env {
	t.Helper()
	ctx := t.Context()
	d, err := db.Open(ctx, db.Options{URL: dbtest.URL(t, dialect)})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), "create", "upgrade", slog.Default()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	repo := repository.NewService(gormrepo.New(d), auth.BcryptHasher{Cost: bcrypt.MinCost}, nil, slog.Default())
	e := &env{repo: repo, tasks: &fakeTasks{}}
	e.svc = approval.NewService(repo, e.tasks, nil, slog.Default(), approval.Options{})
	add := func(o object.Object) string {
		t.Helper()
		if _, err := repo.AddSystem(ctx, repository.AddInput{Object: o}); err != nil {
			t.Fatalf("add %s: %v", o.ObjectMeta().Name, err)
		}
		return o.ObjectMeta().OID
	}
	aliceOID := add(&object.User{Meta: object.Meta{Name: "alice"}, Enabled: true})
	e.role = add(&object.Role{Meta: object.Meta{Name: "Auditor"}, Approvers: []string{"alice"}})
	e.admin = security.Principal{UserOID: uuid.NewString(), Name: "administrator", Authorizations: []string{object.AuthSuperuser}}
	e.alice = security.Principal{UserOID: aliceOID, Name: "alice"}
	e.rita = security.Principal{UserOID: uuid.NewString(), Name: "rita", Authorizations: []string{object.AuthReader}}
	w, err := repo.AddWithApproval(ctx, e.admin, repository.AddInput{Object: &object.User{Meta: object.Meta{Name: "jack"}, Enabled: true, Roles: []string{"Auditor"}}})
	if err != nil {
		t.Fatalf("add jack: %v", err)
	}
	if len(w.Cases) != 1 || len(w.Object.(*object.User).Roles) != 0 {
		t.Fatalf("jack with Auditor by a superuser who is no approver: want one case and no role, got %d cases and roles %v",
			len(w.Cases), w.Object.(*object.User).Roles)
	}
	e.caseOID = w.Cases[0].OID
	return e
}

func TestWhoMayDecide(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				who  func(e *env) security.Principal
				oid  func(e *env) string
				want error
			}{
				{"a reader who is no approver", func(e *env) security.Principal { return e.rita }, nil, security.ErrForbidden},
				// No existence oracle: for someone who may not read cases, an
				// unknown case is refused like a real one.
				{"someone without authorizations, a real case", func(*env) security.Principal { return security.Principal{UserOID: uuid.NewString(), Name: "nobody"} }, nil, security.ErrForbidden},
				{"someone without authorizations, an unknown case", func(*env) security.Principal { return security.Principal{UserOID: uuid.NewString(), Name: "nobody"} },
					func(*env) string { return uuid.NewString() }, security.ErrForbidden},
				{"the role's approver, an unknown case", func(e *env) security.Principal { return e.alice }, func(*env) string { return uuid.NewString() }, security.ErrForbidden},
				{"an unknown case", func(e *env) security.Principal { return e.admin }, func(*env) string { return uuid.NewString() }, object.ErrNotFound},
				{"the role's approver, without any authorization", func(e *env) security.Principal { return e.alice }, nil, nil},
				{"a superuser", func(e *env) security.Principal { return e.admin }, nil, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					e := setup(t, dialect)
					oid := e.caseOID
					if tc.oid != nil {
						oid = tc.oid(e)
					}
					decided, err := e.svc.Decide(t.Context(), tc.who(e), approval.Decide{Case: oid, Approve: true, Comment: "ok"})
					if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
						t.Fatalf("want %v, got %v", tc.want, err)
					}
					if err != nil {
						if len(e.tasks.created) != 0 {
							t.Fatalf("a refused decision created tasks %v", e.tasks.created)
						}
						return
					}
					if decided.State != object.CaseApproved || decided.DecidedBy != tc.who(e).UserOID || decided.Comment != "ok" || decided.Task == "" {
						t.Fatalf("decided case: %+v", decided)
					}
					if len(e.tasks.resumed) != 1 || e.tasks.resumed[0] != decided.Task {
						t.Fatalf("approval task %s: resumed %v", decided.Task, e.tasks.resumed)
					}
				})
			}
		})
	}
}

func TestACaseIsDecidedOnce(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := setup(t, dialect)
			const deciders = 6
			errs := make([]error, deciders)
			var wg sync.WaitGroup
			for i := range deciders {
				wg.Go(func() {
					who := e.admin
					if i%2 == 0 {
						who = e.alice
					}
					_, errs[i] = e.svc.Decide(context.Background(), who, approval.Decide{Case: e.caseOID, Approve: i%3 != 0})
				})
			}
			wg.Wait()
			won := -1
			for i, err := range errs {
				switch {
				case err == nil && won >= 0:
					t.Fatalf("deciders %d and %d both won", won, i)
				case err == nil:
					won = i
				case !errors.Is(err, object.ErrCaseDecided):
					t.Fatalf("decider %d: want ErrCaseDecided, got %v", i, err)
				}
			}
			if won < 0 {
				t.Fatal("nobody won")
			}
			o, err := e.repo.Store().Get(t.Context(), object.TypeCase, e.caseOID)
			if err != nil {
				t.Fatal(err)
			}
			c := o.(*object.Case)
			approved := won%3 != 0
			if (c.State == object.CaseApproved) != approved {
				t.Fatalf("winner %d approved=%v, case is %s", won, approved, c.State)
			}
			// Every task but the winner's is deleted; only the winner's runs.
			if approved && (len(e.tasks.resumed) != 1 || e.tasks.resumed[0] != c.Task) {
				t.Fatalf("case task %s, resumed %v", c.Task, e.tasks.resumed)
			}
			if !approved && len(e.tasks.resumed) != 0 {
				t.Fatalf("a rejected case resumed tasks %v", e.tasks.resumed)
			}
			if kept := len(e.tasks.created) - len(e.tasks.deleted); kept != len(e.tasks.resumed) {
				t.Fatalf("created %d tasks, deleted %d, resumed %d", len(e.tasks.created), len(e.tasks.deleted), len(e.tasks.resumed))
			}
		})
	}
}

// TestNoSelfApproval: nina is an approver of a role she is given, by
// someone else; she may not approve her own case, which would make her
// hold the role on her word alone, even as a superuser. Another approver may,
// and with security/selfApproval she may too.
func TestNoSelfApproval(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := setup(t, dialect)
			ctx := t.Context()
			nina, err := e.repo.AddSystem(ctx, repository.AddInput{Object: &object.User{Meta: object.Meta{Name: "nina"}, Enabled: true}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.repo.AddSystem(ctx, repository.AddInput{Object: &object.Role{Meta: object.Meta{Name: "Admins"},
				Authorizations: []string{object.AuthSuperuser}, Approvers: []string{"nina", "alice"}}}); err != nil {
				t.Fatal(err)
			}
			ninaOID := nina.ObjectMeta().OID
			w, err := e.repo.ModifyWithApproval(ctx, e.admin, repository.ModifyInput{Type: object.TypeUser, OID: ninaOID,
				Apply: func(o object.Object) error { o.(*object.User).Roles = []string{"Admins"}; return nil }})
			if err != nil || len(w.Cases) != 1 {
				t.Fatalf("give nina Admins: %d cases, %v", len(w.Cases), err)
			}
			caseOID := w.Cases[0].OID
			asNina := security.Principal{UserOID: ninaOID, Name: "nina"}
			for _, p := range []security.Principal{asNina, {UserOID: ninaOID, Name: "nina", Authorizations: []string{object.AuthSuperuser}}} {
				if _, err := e.svc.Decide(ctx, p, approval.Decide{Case: caseOID, Approve: true}); !errors.Is(err, approval.ErrSelfApproval) || !errors.Is(err, security.ErrForbidden) {
					t.Fatalf("nina (authorizations %v) approving her own case: %v, want ErrSelfApproval (forbidden)", p.Authorizations, err)
				}
			}
			if len(e.tasks.created) != 0 {
				t.Fatalf("a refused self-approval created tasks %v", e.tasks.created)
			}
			allowing := approval.NewService(e.repo, e.tasks, nil, slog.Default(), approval.Options{SelfApproval: true})
			if c, err := allowing.Decide(ctx, asNina, approval.Decide{Case: caseOID, Approve: false}); err != nil || c.State != object.CaseRejected {
				t.Fatalf("with security/selfApproval nina rejects her own case: %v %v", c, err)
			}
		})
	}
}

// TestObsoleteCasesAreNotApproved: once the user or the role of an open case
// is deleted, approving it answers ErrCaseObsolete (409) and creates no
// approval task, which could only fail; rejecting it closes it.
func TestObsoleteCasesAreNotApproved(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			for _, gone := range []string{"user", "role"} {
				t.Run("deleted "+gone, func(t *testing.T) {
					e := setup(t, dialect)
					ctx := t.Context()
					c, err := e.repo.Store().Get(ctx, object.TypeCase, e.caseOID)
					if err != nil {
						t.Fatal(err)
					}
					typ, oid := object.TypeUser, c.(*object.Case).User
					if gone == "role" {
						typ, oid = object.TypeRole, c.(*object.Case).Role
					}
					if err := e.repo.Delete(ctx, e.admin, typ, oid); err != nil {
						t.Fatalf("delete the %s: %v", gone, err)
					}
					if _, err := e.svc.Decide(ctx, e.admin, approval.Decide{Case: e.caseOID, Approve: true}); !errors.Is(err, approval.ErrCaseObsolete) {
						t.Fatalf("approve a case whose %s is gone: %v, want ErrCaseObsolete", gone, err)
					}
					if len(e.tasks.created) != 0 {
						t.Fatalf("the refused approval created tasks %v", e.tasks.created)
					}
					if decided, err := e.svc.Decide(ctx, e.admin, approval.Decide{Case: e.caseOID, Approve: false}); err != nil || decided.State != object.CaseRejected {
						t.Fatalf("reject it: %v %v", decided, err)
					}
				})
			}
		})
	}
}
