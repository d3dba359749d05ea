package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"cadre/domain/task"
	"cadre/infrastructure/jobs"
	"cadre/quartzstore"
)

// now is the store's clock: 12:00:10 on a Tuesday.
var now = time.Date(2026, 12, 1, 12, 0, 10, 0, time.UTC)

// setup returns the adapter over a memory store at now, and the number of
// wakes it gave the scheduler.
func setup(t *testing.T) (*jobs.Jobs, *quartzstore.MemoryStore, *int) {
	t.Helper()
	store := quartzstore.NewMemoryStore(func() time.Time { return now })
	wakes := new(int)
	return jobs.New(store, func() { *wakes++ }), store, wakes
}

// TestSchedulePlansTheTrigger: a task's schedule becomes one trigger keyed by
// its OID, firing when a user expects the task to start.
func TestSchedulePlansTheTrigger(t *testing.T) {
	tests := []struct {
		name     string
		schedule task.Schedule
		fireNow  bool
		kind     quartzstore.TriggerKind
		next     time.Time
		misfire  quartzstore.MisfirePolicy
		interval time.Duration
	}{
		{"single run starts now", task.Schedule{}, true, quartzstore.KindOnce, now, quartzstore.MisfireFireNow, 0},
		{"interval, first run now", task.Schedule{Interval: 60}, true, quartzstore.KindInterval, now, quartzstore.MisfireFireNow, time.Minute},
		{"interval, first run one interval on", task.Schedule{Interval: 60}, false, quartzstore.KindInterval, now.Add(time.Minute), quartzstore.MisfireFireNow, time.Minute},
		{"cron, first run at its next time", task.Schedule{Cron: "0 */15 * * * *"}, false, quartzstore.KindCron, time.Date(2026, 12, 1, 12, 15, 0, 0, time.UTC), quartzstore.MisfireFireNow, 0},
		{"cron run now, then by its times", task.Schedule{Cron: "0 */15 * * * *"}, true, quartzstore.KindCron, now, quartzstore.MisfireFireNow, 0},
		{"misfire skip carries over", task.Schedule{Interval: 3600, Misfire: task.MisfireSkip}, false, quartzstore.KindInterval, now.Add(time.Hour), quartzstore.MisfireSkip, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, store, wakes := setup(t)
			tk := &task.Task{OID: "task-1", Schedule: tt.schedule, ExecutionGroup: "batch"}
			if err := j.Schedule(t.Context(), tk, tt.fireNow); err != nil {
				t.Fatal(err)
			}
			tr, err := store.TriggersGet(t.Context(), "task-1")
			if err != nil {
				t.Fatal(err)
			}
			if tr.JobKey != "task-1" || tr.Kind != tt.kind || !tr.NextFireTime.Equal(tt.next) || tr.Misfire != tt.misfire ||
				tr.Interval != tt.interval || tr.Group != "batch" {
				t.Fatalf("trigger = %+v, want %s in group batch firing at %s with misfire %s", tr, tt.kind, tt.next, tt.misfire)
			}
			if next, err := j.NextFireTime(t.Context(), "task-1"); err != nil || next == nil || !next.Equal(tt.next) {
				t.Fatalf("NextFireTime = %v, %v; want %s", next, err, tt.next)
			}
			if *wakes != 1 {
				t.Fatalf("%d wakes, want 1: the local scheduler must look at once", *wakes)
			}
		})
	}
}

func TestScheduleReplacesTheTrigger(t *testing.T) {
	j, store, _ := setup(t)
	ctx := t.Context()
	tk := &task.Task{OID: "task-1", Schedule: task.Schedule{Interval: 60}}
	if err := j.Schedule(ctx, tk, false); err != nil {
		t.Fatal(err)
	}
	tk.Schedule = task.Schedule{Cron: "0 0 * * * *"}
	if err := j.Schedule(ctx, tk, false); err != nil {
		t.Fatal(err)
	}
	trs, err := store.TriggersListByJob(ctx, "task-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) != 1 || trs[0].Kind != quartzstore.KindCron || !trs[0].NextFireTime.Equal(time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("triggers = %+v, want the one cron trigger firing at 13:00", trs)
	}
}

func TestScheduleRefusesACronThatNeverFires(t *testing.T) {
	j, store, wakes := setup(t)
	err := j.Schedule(t.Context(), &task.Task{OID: "task-1", Schedule: task.Schedule{Cron: "0 0 0 30 2 *"}}, false)
	if !errors.Is(err, quartzstore.ErrInvalidTrigger) || !strings.Contains(err.Error(), "never fires") {
		t.Fatalf("Schedule = %v, want ErrInvalidTrigger saying it never fires", err)
	}
	if _, err := store.JobsGet(t.Context(), "task-1"); !errors.Is(err, quartzstore.ErrNotFound) || *wakes != 0 {
		t.Fatalf("after a refused schedule: job %v, %d wakes; want no job and no wake", err, *wakes)
	}
}

func TestUnschedule(t *testing.T) {
	j, store, _ := setup(t)
	ctx := t.Context()
	if err := j.Schedule(ctx, &task.Task{OID: "task-1", Schedule: task.Schedule{Interval: 60}}, false); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second unschedule is not an error
		if err := j.Unschedule(ctx, "task-1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.JobsGet(ctx, "task-1"); !errors.Is(err, quartzstore.ErrNotFound) {
		t.Fatalf("job after unschedule: %v, want ErrNotFound", err)
	}
	if next, err := j.NextFireTime(ctx, "task-1"); err != nil || next != nil {
		t.Fatalf("NextFireTime of an unscheduled task = %v, %v; want none", next, err)
	}
}

// TestScheduleUsesTheStoreClock: the fire time comes from the store (the
// database clock), whatever the caller's clock says.
func TestScheduleUsesTheStoreClock(t *testing.T) {
	store := quartzstore.NewMemoryStore(func() time.Time { return now.Add(-24 * time.Hour) })
	j := jobs.New(store, nil)
	ctx := context.Background()
	if err := j.Schedule(ctx, &task.Task{OID: "task-1", Schedule: task.Schedule{Interval: 10}}, false); err != nil {
		t.Fatal(err)
	}
	if next, _ := j.NextFireTime(ctx, "task-1"); next == nil || !next.Equal(now.Add(-24*time.Hour+10*time.Second)) {
		t.Fatalf("next fire = %v, want the store's now + 10 s", next)
	}
}
