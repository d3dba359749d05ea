package handlers_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"cadre/app/handlers"
	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/task"
)

// approvalCase stores a case for user jack and role Auditor, decided as
// state with approvalTask as its task (approved cases only).
func (e *env) approvalCase(t *testing.T, state object.CaseState, jackRoles ...string) (c *object.Case, jack *object.User, role string) {
	t.Helper()
	role = e.add(t, &object.Role{Meta: object.Meta{Name: "Auditor"}, Approvers: []string{e.adminOID}}).OID
	jack = &object.User{Meta: object.Meta{Name: "jack"}, Enabled: true}
	for _, r := range jackRoles {
		jack.Roles = append(jack.Roles, map[string]string{"auditor": role, "reader": e.readerOID}[r])
	}
	e.add(t, jack)
	c = object.NewCase("Auditor for jack", e.adminOID, jack.OID, role)
	if state != object.CaseOpen {
		if err := c.Decide(e.adminOID, state == object.CaseApproved, "", approvalTask, e.now); err != nil {
			t.Fatal(err)
		}
	}
	e.add(t, c)
	return c, jack, role
}

const approvalTask = "7a5c0000-0000-4000-8000-000000000001"

// runApproval runs the approval handler as the task approvalTask would.
func (e *env) runApproval(t *testing.T, caseOID string) error {
	t.Helper()
	h := e.handlers[handlers.NameApproval]
	run := &taskmanager.Run{
		Task: &task.Task{OID: approvalTask, Handler: handlers.NameApproval, Params: map[string]any{"case": caseOID}},
		Node: "node-7", Log: slog.New(slog.DiscardHandler),
		Progress: func(int64, int64) {}, Stopping: func() bool { return false },
	}
	return h.Run(t.Context(), run)
}

func (e *env) get(t *testing.T, typ object.Type, oid string) object.Object {
	t.Helper()
	o, err := e.store.Get(t.Context(), typ, oid)
	if err != nil {
		t.Fatalf("read %s %s: %v", typ, oid, err)
	}
	return o
}

func TestApprovalGivesTheRoleExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		// jackHas are jack's roles before the run: "auditor" when a run on a
		// node that died had given the role but not marked the case.
		jackHas []string
	}{
		{"first run", []string{"reader"}},
		{"re-run after a node died between the two writes", []string{"reader", "auditor"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			c, jack, role := e.approvalCase(t, object.CaseApproved, tc.jackHas...)
			for run := 1; run <= 2; run++ { // the second run finds the case applied
				if err := e.runApproval(t, c.OID); err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
				u := e.get(t, object.TypeUser, jack.OID).(*object.User)
				if n := countOf(u.Roles, role); n != 1 || !slices.Contains(u.Roles, e.readerOID) {
					t.Fatalf("run %d: jack's roles %v: want Auditor once and Reader kept", run, u.Roles)
				}
				applied := e.get(t, object.TypeCase, c.OID).(*object.Case)
				if applied.AppliedAt == nil {
					t.Fatalf("run %d: case not marked applied", run)
				}
			}
		})
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestApprovalOfACaseNotApprovedChangesNothing(t *testing.T) {
	for _, state := range []object.CaseState{object.CaseRejected, object.CaseOpen} {
		t.Run(string(state), func(t *testing.T) {
			e := setup(t)
			c, jack, _ := e.approvalCase(t, state)
			if err := e.runApproval(t, c.OID); err == nil {
				t.Fatalf("the run of a %s case succeeded", state)
			}
			u := e.get(t, object.TypeUser, jack.OID).(*object.User)
			if len(u.Roles) != 0 || u.Version != 1 {
				t.Fatalf("jack changed: roles %v, version %d", u.Roles, u.Version)
			}
			if got := e.get(t, object.TypeCase, c.OID).(*object.Case); got.AppliedAt != nil || got.State != state {
				t.Fatalf("case changed: %+v", got)
			}
		})
	}
}

func TestApprovalRunsOnlyForItsOwnCase(t *testing.T) {
	e := setup(t)
	c, jack, _ := e.approvalCase(t, object.CaseApproved)
	_, err := e.repo.ModifySystem(t.Context(), repository.ModifyInput{Type: object.TypeCase, OID: c.OID, Apply: func(o object.Object) error {
		o.(*object.Case).Task = "another-task"
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.runApproval(t, c.OID); err == nil {
		t.Fatal("a task ran a case carried out by another task")
	}
	if u := e.get(t, object.TypeUser, jack.OID).(*object.User); len(u.Roles) != 0 {
		t.Fatalf("jack got roles %v", u.Roles)
	}
}

func TestApprovalPauseEndsWhenTheRunStops(t *testing.T) {
	e := setup(t)
	c, _, _ := e.approvalCase(t, object.CaseApproved)
	h := handlers.NewApproval(e.repo, nil, time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // hang guard only
	defer cancel()
	run := &taskmanager.Run{
		Task: &task.Task{OID: approvalTask, Handler: handlers.NameApproval, Params: map[string]any{"case": c.OID}},
		Log:  slog.New(slog.DiscardHandler), Progress: func(int64, int64) {}, Stopping: func() bool { return true },
	}
	if err := h.Run(ctx, run); !errors.Is(err, taskmanager.ErrStopped) {
		t.Fatalf("a stopping run: want ErrStopped, got %v", err)
	}
	if got := e.get(t, object.TypeCase, c.OID).(*object.Case); got.AppliedAt != nil {
		t.Fatal("a stopped run marked the case applied")
	}
}
