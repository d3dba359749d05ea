package task_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"cadre/domain/task"
)

func TestRetryValidate(t *testing.T) {
	tests := []struct {
		name  string
		r     task.Retry
		field string // "" = valid
	}{
		{"one attempt", task.Retry{MaxAttempts: 1}, ""},
		{"bounds", task.Retry{MaxAttempts: task.MaxRetryAttempts, BackoffMs: task.MaxRetryBackoff.Milliseconds()}, ""},
		{"no attempt", task.Retry{MaxAttempts: 0}, "retry.maxAttempts"},
		{"too many attempts", task.Retry{MaxAttempts: task.MaxRetryAttempts + 1}, "retry.maxAttempts"},
		{"negative backoff", task.Retry{MaxAttempts: 2, BackoffMs: -1}, "retry.backoffMs"},
		{"backoff over an hour", task.Retry{MaxAttempts: 2, BackoffMs: task.MaxRetryBackoff.Milliseconds() + 1}, "retry.backoffMs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (!errors.Is(err, task.ErrInvalid) || !strings.Contains(err.Error(), tc.field)):
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tc.field)
			}
		})
	}
}

// TestRetryBackoff: the wait doubles from backoffMs per failed attempt, with
// up to a fifth more at random, and stops growing at an hour.
func TestRetryBackoff(t *testing.T) {
	r := &task.Retry{MaxAttempts: 40, BackoffMs: 1000}
	for failed, base := range map[int64]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 30: task.MaxRetryBackoff} {
		for range 20 {
			if d := r.Backoff(failed); d < base || d > base+base/5 {
				t.Fatalf("backoff after attempt %d = %s, want %s to %s", failed, d, base, base+base/5)
			}
		}
	}
	var none *task.Retry
	if none.Attempts() != 1 || none.Backoff(1) != 0 || (&task.Retry{MaxAttempts: 3}).Backoff(2) != 0 {
		t.Fatal("no retry spec should be one attempt without a wait, and backoffMs 0 no wait")
	}
}

// TestRunAttempts: a failed attempt keeps the run going (RUNNABLE, result
// IN_PROGRESS, attempts and checkpoint kept); a new run starts from zero.
func TestRunAttempts(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tk := &task.Task{Role: task.Standalone, State: task.Runnable, Result: task.InProgress}
	if err := tk.Start("n1", now); err != nil {
		t.Fatal(err)
	}
	tk.Checkpoint = &task.Checkpoint{Items: 10, Position: "10"}
	if err := tk.FailAttempt("boom", "retrying"); err != nil {
		t.Fatal(err)
	}
	if tk.State != task.Runnable || tk.Result != task.InProgress || tk.Attempts != 1 || tk.LastError != "boom" || tk.Node != "" {
		t.Fatalf("after a failed attempt: %+v", tk)
	}
	if err := tk.Start("n2", now); err != nil {
		t.Fatal(err)
	}
	if tk.Attempts != 1 || tk.Checkpoint == nil {
		t.Fatalf("the retry lost the run's attempts or checkpoint: %+v", tk)
	}
	if err := tk.Finish(task.Success, "", now); err != nil {
		t.Fatal(err)
	}
	if tk.Checkpoint != nil {
		t.Fatal("a finished run keeps its checkpoint")
	}
	if err := tk.RunNow(); err != nil {
		t.Fatal(err)
	}
	if err := tk.Start("n1", now); err != nil {
		t.Fatal(err)
	}
	if tk.Attempts != 0 || tk.LastError != "" {
		t.Fatalf("a new run starts with attempts %d, last error %q; want 0 and none", tk.Attempts, tk.LastError)
	}
	if err := tk.FailAttempt("x", "y"); err != nil {
		t.Fatal(err)
	}
	if err := tk.FailAttempt("x", "y"); !errors.Is(err, task.ErrIllegalState) {
		t.Fatalf("failing an attempt of a task not running = %v, want ErrIllegalState", err)
	}
}
