package object_test

import (
	"errors"
	"testing"
	"time"

	"cadre/domain/object"
)

func TestRoleNeedsApproval(t *testing.T) {
	for _, tc := range []struct {
		name      string
		approvers []string
		requester string
		want      bool
	}{
		{"no approvers: given at once", nil, "u1", false},
		{"an approver gives it: at once", []string{"u1", "u2"}, "u2", false},
		{"anyone else (a superuser too): approval", []string{"u1"}, "admin", true},
		{"no requester: approval", []string{"u1"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &object.Role{Approvers: tc.approvers}
			if got := r.NeedsApproval(tc.requester); got != tc.want {
				t.Fatalf("NeedsApproval(%q) with approvers %v = %v, want %v", tc.requester, tc.approvers, got, tc.want)
			}
		})
	}
}

func TestCaseIsDecidedOnce(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		approve bool
		state   object.CaseState
		task    string
	}{
		{"approved, with its task", true, object.CaseApproved, "task-1"},
		{"rejected, without a task", false, object.CaseRejected, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := object.NewCase("Auditor for jack", "admin", "jack", "auditor")
			if err := c.Validate(); err != nil {
				t.Fatalf("open case invalid: %v", err)
			}
			if err := c.Decide("alice", tc.approve, "fine by me", "task-1", now); err != nil {
				t.Fatalf("first decision: %v", err)
			}
			if c.State != tc.state || c.DecidedBy != "alice" || c.Comment != "fine by me" || !c.DecidedAt.Equal(now) || c.Task != tc.task {
				t.Fatalf("decided case: %+v", c)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("decided case invalid: %v", err)
			}
			err := c.Decide("bob", !tc.approve, "no", "task-2", now.Add(time.Second))
			if !errors.Is(err, object.ErrCaseDecided) {
				t.Fatalf("second decision: want ErrCaseDecided, got %v", err)
			}
			if c.State != tc.state || c.DecidedBy != "alice" || c.Task != tc.task {
				t.Fatalf("second decision changed the case: %+v", c)
			}
		})
	}
}

func TestCaseMarkAppliedKeepsTheFirstTime(t *testing.T) {
	first := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c := object.NewCase("Auditor for jack", "admin", "jack", "auditor")
	c.MarkApplied(first)
	c.MarkApplied(first.Add(time.Hour))
	if !c.AppliedAt.Equal(first) {
		t.Fatalf("appliedAt %v, want the first %v", c.AppliedAt, first)
	}
}

func TestCaseCommentIsBounded(t *testing.T) {
	c := object.NewCase("Auditor for jack", "admin", "jack", "auditor")
	long := make([]byte, 4001)
	for i := range long {
		long[i] = 'x'
	}
	if err := c.Decide("alice", true, string(long), "t", time.Now()); !errors.Is(err, object.ErrInvalid) {
		t.Fatalf("a 4001-byte comment: want ErrInvalid, got %v", err)
	}
	if c.State != object.CaseOpen {
		t.Fatalf("a refused decision changed the state to %s", c.State)
	}
}
