// Package jobs adapts the Quartz-style job store to the task manager: one
// durable job and one trigger per task, keyed by the task's OID.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cadre/domain/task"
	"cadre/quartzstore"
)

// Jobs implements taskmanager.Scheduler on a quartzstore.Store.
type Jobs struct {
	store quartzstore.Store
	wake  func()
}

// New returns the adapter; wake (may be nil) nudges the local scheduler loop.
func New(store quartzstore.Store, wake func()) *Jobs {
	if wake == nil {
		wake = func() {}
	}
	return &Jobs{store: store, wake: wake}
}

// SetWake sets the function that nudges the scheduler after a change.
func (j *Jobs) SetWake(wake func()) { j.wake = wake }

// Schedule upserts the task's job and trigger in one transaction. A trigger
// that fires now leaves its time to the store (its clock), so starting a
// task costs no separate clock read.
func (j *Jobs) Schedule(ctx context.Context, t *task.Task, fireNow bool) error {
	tr := j.trigger(t)
	switch {
	case t.Schedule.Cron != "":
		if fireNow {
			// Cron triggers take their first time from the store when it is
			// zero; firing now needs the clock.
			now, err := j.store.Now(ctx)
			if err != nil {
				return err
			}
			tr.NextFireTime = now
		}
	case t.Schedule.Interval > 0:
		if !fireNow {
			now, err := j.store.Now(ctx)
			if err != nil {
				return err
			}
			tr.NextFireTime = now.Add(tr.Interval)
		}
	}
	if err := j.store.JobsSchedule(ctx, quartzstore.Job{Key: t.OID, Group: t.ExecutionGroup}, tr); err != nil {
		if errors.Is(err, quartzstore.ErrInvalidTrigger) && tr.Kind == quartzstore.KindCron {
			return fmt.Errorf("cron %q never fires: %w", t.Schedule.Cron, err)
		}
		return fmt.Errorf("schedule %s: %w", t.OID, err)
	}
	j.wake()
	return nil
}

// trigger is the task's trigger by its schedule, with no fire time set.
func (j *Jobs) trigger(t *task.Task) quartzstore.Trigger {
	tr := quartzstore.Trigger{Key: t.OID, Kind: quartzstore.KindOnce, Misfire: quartzstore.MisfireFireNow}
	if t.Schedule.Misfire == task.MisfireSkip {
		tr.Misfire = quartzstore.MisfireSkip
	}
	switch {
	case t.Schedule.Cron != "":
		tr.Kind, tr.Cron = quartzstore.KindCron, t.Schedule.Cron
	case t.Schedule.Interval > 0:
		tr.Kind, tr.Interval = quartzstore.KindInterval, time.Duration(t.Schedule.Interval)*time.Second
	}
	return tr
}

// Postpone upserts the task's job and trigger to fire next after d, by the
// store's clock; a recurring trigger goes on by its schedule from there.
func (j *Jobs) Postpone(ctx context.Context, t *task.Task, d time.Duration) error {
	now, err := j.store.Now(ctx)
	if err != nil {
		return err
	}
	tr := j.trigger(t)
	tr.NextFireTime = now.Add(d)
	if err := j.store.JobsSchedule(ctx, quartzstore.Job{Key: t.OID, Group: t.ExecutionGroup}, tr); err != nil {
		return fmt.Errorf("postpone %s: %w", t.OID, err)
	}
	j.wake()
	return nil
}

// Unschedule removes the task's job and triggers.
func (j *Jobs) Unschedule(ctx context.Context, oid string) error {
	if err := j.store.JobsDelete(ctx, oid); err != nil && !errors.Is(err, quartzstore.ErrNotFound) {
		return fmt.Errorf("delete job %s: %w", oid, err)
	}
	return nil
}

// NextFireTime is when the task's trigger fires next, nil when it has none.
func (j *Jobs) NextFireTime(ctx context.Context, oid string) (*time.Time, error) {
	tr, err := j.store.TriggersGet(ctx, oid)
	if errors.Is(err, quartzstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	next := tr.NextFireTime.UTC()
	return &next, nil
}
