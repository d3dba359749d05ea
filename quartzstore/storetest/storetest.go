// Package storetest is the conformance suite every quartzstore.Store passes:
// the same behaviour on MemoryStore, and SQLStore on SQLite and PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cadre/quartzstore"
)

// Option adjusts Run.
type Option func(*options)

type options struct {
	peer func(t *testing.T, s quartzstore.Store) quartzstore.Store
}

// WithPeer supplies a second handle on the same store, as another process
// would have (for a SQLStore: another *sql.DB pool on the same database). The
// race tests split their goroutines between the two. Without it, the store
// itself is its own peer.
func WithPeer(peer func(t *testing.T, s quartzstore.Store) quartzstore.Store) Option {
	return func(o *options) { o.peer = peer }
}

// base is the injected clock's origin: a whole minute, so even seconds are known.
var base = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

// Run runs the suite; newStore returns a fresh, empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) quartzstore.Store, opts ...Option) {
	o := options{peer: func(_ *testing.T, s quartzstore.Store) quartzstore.Store { return s }}
	for _, opt := range opts {
		opt(&o)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"Jobs", testJobs},
		{"JobsSchedule", testJobsSchedule},
		{"TriggersCRUD", testTriggersCRUD},
		{"TriggersValidation", testTriggersValidation},
		{"ZeroNextFireTime", testZeroNextFireTime},
		{"OnceFiresOnceAndIsRemoved", testOnce},
		{"IntervalAdvances", testInterval},
		{"CronFiresOnEvenSeconds", testCron},
		{"Misfire", testMisfire},
		{"PausedNotAcquired", testPaused},
		{"Groups", testGroups},
		{"MaxCount", testMaxCount},
		{"Lookahead", testLookahead},
		{"NextFireTime", testNextFireTime},
		{"FireIDIdempotent", testFireIDIdempotent},
		{"ConcurrentAcquireFiresEachOnce", testConcurrentAcquire},
		{"ConcurrentScheduleAndDelete", testConcurrentScheduleDelete},
		{"Instances", testInstances},
		{"RecoverDeadInstance", testRecover},
		{"RecoverOrphanedFires", testRecoverOrphans},
		{"SchedulerBoundedPool", testSchedulerBoundedPool},
		{"SchedulerStopWaitsForJobs", testSchedulerStop},
		{"SchedulerPauseResumeWake", testSchedulerPause},
		{"SchedulerRecoversDeadInstance", testSchedulerRecovers},
		{"SchedulerSleepsUntilNextFire", testSchedulerInterval},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tc.fn(t, &fixture{ctx: t.Context(), s: s, peer: func() quartzstore.Store { return o.peer(t, s) }})
		})
	}
}

type fixture struct {
	ctx  context.Context
	s    quartzstore.Store
	peer func() quartzstore.Store
}

func (f *fixture) job(t *testing.T, key, group string, recovery bool) quartzstore.Job {
	t.Helper()
	j := quartzstore.Job{Key: key, Group: group, RequestRecovery: recovery, Data: map[string]string{"oid": key}}
	if err := f.s.JobsUpsert(f.ctx, j); err != nil {
		t.Fatalf("JobsUpsert(%s): %v", key, err)
	}
	return j
}

func (f *fixture) trigger(t *testing.T, tr quartzstore.Trigger) {
	t.Helper()
	if err := f.s.TriggersUpsert(f.ctx, tr); err != nil {
		t.Fatalf("TriggersUpsert(%s): %v", tr.Key, err)
	}
}

func (f *fixture) once(t *testing.T, key string, at time.Time) {
	t.Helper()
	f.trigger(t, quartzstore.Trigger{Key: key, JobKey: key, Kind: quartzstore.KindOnce, NextFireTime: at})
}

func (f *fixture) getTrigger(t *testing.T, key string) quartzstore.Trigger {
	t.Helper()
	tr, err := f.s.TriggersGet(f.ctx, key)
	if err != nil {
		t.Fatalf("TriggersGet(%s): %v", key, err)
	}
	return tr
}

func (f *fixture) acquire(t *testing.T, p quartzstore.TriggersAcquireNextParams) []quartzstore.FiredTrigger {
	t.Helper()
	if p.InstanceID == "" {
		p.InstanceID = "i1"
	}
	if p.MaxCount == 0 {
		p.MaxCount = 100
	}
	fired, err := f.s.TriggersAcquireNext(f.ctx, p)
	if err != nil {
		t.Fatalf("TriggersAcquireNext: %v", err)
	}
	return fired
}

func (f *fixture) fired(t *testing.T) []quartzstore.FiredTrigger {
	t.Helper()
	fs, err := f.s.FiredTriggersList(f.ctx)
	if err != nil {
		t.Fatalf("FiredTriggersList: %v", err)
	}
	return fs
}

func keysOf(fs []quartzstore.FiredTrigger) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.TriggerKey
	}
	return out
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// testJobsSchedule: a job and its trigger written together; the trigger
// takes the job's key and group, a zero time fires at the store's now, and a
// cron that never fires writes nothing.
func testJobsSchedule(t *testing.T, f *fixture) {
	if err := f.s.JobsSchedule(f.ctx, quartzstore.Job{Key: "task-s", Group: "g"},
		quartzstore.Trigger{Key: "task-s", Kind: quartzstore.KindOnce}); err != nil {
		t.Fatal(err)
	}
	tr, err := f.s.TriggersGet(f.ctx, "task-s")
	if err != nil || tr.JobKey != "task-s" || tr.Group != "g" || tr.NextFireTime.IsZero() {
		t.Fatalf("TriggersGet after JobsSchedule = %+v, %v; want job task-s in group g with a fire time", tr, err)
	}
	now, _ := f.s.Now(f.ctx)
	fired, err := f.s.TriggersAcquireNext(f.ctx, quartzstore.TriggersAcquireNextParams{InstanceID: "i", Now: now.Add(time.Second), MaxCount: 5, Groups: []string{"g"}})
	if err != nil || len(fired) != 1 || fired[0].JobKey != "task-s" {
		t.Fatalf("acquire after JobsSchedule = %v, %v; want task-s", fired, err)
	}
	err = f.s.JobsSchedule(f.ctx, quartzstore.Job{Key: "never"}, quartzstore.Trigger{Key: "never", Kind: quartzstore.KindCron, Cron: "0 0 0 30 2 *"})
	wantErr(t, "JobsSchedule(cron that never fires)", err, quartzstore.ErrInvalidTrigger)
	_, err = f.s.JobsGet(f.ctx, "never")
	wantErr(t, "JobsGet(after a refused JobsSchedule)", err, quartzstore.ErrNotFound)
}

func testJobs(t *testing.T, f *fixture) {
	j := f.job(t, "task-1", "g", true)
	got, err := f.s.JobsGet(f.ctx, "task-1")
	if err != nil || got.Key != j.Key || got.Group != "g" || !got.RequestRecovery || !maps.Equal(got.Data, j.Data) {
		t.Fatalf("JobsGet = %+v, %v; want %+v", got, err, j)
	}
	j.Group, j.RequestRecovery, j.Data = "", false, nil
	if err := f.s.JobsUpsert(f.ctx, j); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.s.JobsGet(f.ctx, "task-1"); got.Group != "" || got.RequestRecovery || len(got.Data) != 0 {
		t.Errorf("after update JobsGet = %+v", got)
	}
	_, err = f.s.JobsGet(f.ctx, "nope")
	wantErr(t, "JobsGet(missing)", err, quartzstore.ErrNotFound)

	f.trigger(t, quartzstore.Trigger{Key: "task-1", JobKey: "task-1", Kind: quartzstore.KindInterval, Interval: time.Minute, NextFireTime: base})
	f.trigger(t, quartzstore.Trigger{Key: "task-1b", JobKey: "task-1", Kind: quartzstore.KindOnce, NextFireTime: base})
	if err := f.s.JobsDelete(f.ctx, "task-1"); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.JobsGet(f.ctx, "task-1")
	wantErr(t, "JobsGet(deleted)", err, quartzstore.ErrNotFound)
	_, err = f.s.TriggersGet(f.ctx, "task-1")
	wantErr(t, "TriggersGet(of deleted job)", err, quartzstore.ErrNotFound)
	if ts, err := f.s.TriggersListByJob(f.ctx, "task-1"); err != nil || len(ts) != 0 {
		t.Errorf("TriggersListByJob(deleted job) = %v, %v; want none", ts, err)
	}
	wantErr(t, "JobsDelete(missing)", f.s.JobsDelete(f.ctx, "task-1"), quartzstore.ErrNotFound)
}

func testTriggersCRUD(t *testing.T, f *fixture) {
	f.job(t, "j", "g1", false)
	f.trigger(t, quartzstore.Trigger{Key: "t2", JobKey: "j", Kind: quartzstore.KindCron, Cron: "0 0 * * * *", NextFireTime: base.Add(time.Hour)})
	f.trigger(t, quartzstore.Trigger{Key: "t1", JobKey: "j", Kind: quartzstore.KindInterval, Interval: 1500 * time.Millisecond,
		NextFireTime: base.Add(123 * time.Millisecond), Group: "ignored"})

	got := f.getTrigger(t, "t1")
	want := quartzstore.Trigger{Key: "t1", JobKey: "j", Kind: quartzstore.KindInterval, Interval: 1500 * time.Millisecond,
		Misfire: quartzstore.MisfireFireNow, Group: "g1", NextFireTime: base.Add(123 * time.Millisecond)}
	if got != want {
		t.Errorf("TriggersGet = %+v\nwant %+v", got, want)
	}
	if got.NextFireTime.Location() != time.UTC {
		t.Errorf("NextFireTime location = %v, want UTC", got.NextFireTime.Location())
	}
	ts, err := f.s.TriggersListByJob(f.ctx, "j")
	if err != nil || len(ts) != 2 || ts[0].Key != "t1" || ts[1].Key != "t2" {
		t.Fatalf("TriggersListByJob = %+v, %v", ts, err)
	}

	// The job's group follows into its triggers.
	if err := f.s.JobsUpsert(f.ctx, quartzstore.Job{Key: "j", Group: "g2"}); err != nil {
		t.Fatal(err)
	}
	if g := f.getTrigger(t, "t2").Group; g != "g2" {
		t.Errorf("trigger group after job update = %q, want g2", g)
	}

	// Upsert replaces.
	want.Misfire, want.Interval, want.Group = quartzstore.MisfireSkip, time.Minute, "g2"
	f.trigger(t, quartzstore.Trigger{Key: "t1", JobKey: "j", Kind: quartzstore.KindInterval, Interval: time.Minute,
		Misfire: quartzstore.MisfireSkip, NextFireTime: want.NextFireTime})
	if got := f.getTrigger(t, "t1"); got != want {
		t.Errorf("after replace TriggersGet = %+v\nwant %+v", got, want)
	}

	if err := f.s.TriggersPause(f.ctx, "t1"); err != nil || !f.getTrigger(t, "t1").Paused {
		t.Errorf("TriggersPause: %v, paused=%v", err, f.getTrigger(t, "t1").Paused)
	}
	if err := f.s.TriggersResume(f.ctx, "t1"); err != nil || f.getTrigger(t, "t1").Paused {
		t.Errorf("TriggersResume: %v, paused=%v", err, f.getTrigger(t, "t1").Paused)
	}
	if err := f.s.TriggersDelete(f.ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.TriggersGet(f.ctx, "t1")
	wantErr(t, "TriggersGet(deleted)", err, quartzstore.ErrNotFound)
	wantErr(t, "TriggersDelete(missing)", f.s.TriggersDelete(f.ctx, "t1"), quartzstore.ErrNotFound)
	wantErr(t, "TriggersPause(missing)", f.s.TriggersPause(f.ctx, "t1"), quartzstore.ErrNotFound)
	wantErr(t, "TriggersResume(missing)", f.s.TriggersResume(f.ctx, "t1"), quartzstore.ErrNotFound)
}

func testTriggersValidation(t *testing.T, f *fixture) {
	f.job(t, "j", "", false)
	tests := []struct {
		name string
		tr   quartzstore.Trigger
		want error
	}{
		{"bad cron", quartzstore.Trigger{Key: "t", JobKey: "j", Kind: quartzstore.KindCron, Cron: "*/2 * * * *x"}, quartzstore.ErrBadCron},
		{"five-field cron", quartzstore.Trigger{Key: "t", JobKey: "j", Kind: quartzstore.KindCron, Cron: "* * * * *"}, quartzstore.ErrBadCron},
		{"missing job", quartzstore.Trigger{Key: "t", JobKey: "nope", Kind: quartzstore.KindOnce, NextFireTime: base}, quartzstore.ErrNotFound},
		{"zero interval", quartzstore.Trigger{Key: "t", JobKey: "j", Kind: quartzstore.KindInterval}, quartzstore.ErrInvalidTrigger},
		{"unknown kind", quartzstore.Trigger{Key: "t", JobKey: "j", Kind: "weekly"}, quartzstore.ErrInvalidTrigger},
		{"unknown misfire", quartzstore.Trigger{Key: "t", JobKey: "j", Kind: quartzstore.KindOnce, Misfire: "later"}, quartzstore.ErrInvalidTrigger},
		{"no key", quartzstore.Trigger{JobKey: "j", Kind: quartzstore.KindOnce}, quartzstore.ErrInvalidTrigger},
	}
	for _, tc := range tests {
		wantErr(t, tc.name, f.s.TriggersUpsert(f.ctx, tc.tr), tc.want)
	}
	if _, err := f.s.TriggersGet(f.ctx, "t"); !errors.Is(err, quartzstore.ErrNotFound) {
		t.Errorf("an invalid trigger was stored: %v", err)
	}
}

func testZeroNextFireTime(t *testing.T, f *fixture) {
	f.job(t, "j", "", false)
	before, _ := f.s.Now(f.ctx)
	f.trigger(t, quartzstore.Trigger{Key: "once", JobKey: "j", Kind: quartzstore.KindOnce})
	f.trigger(t, quartzstore.Trigger{Key: "cron", JobKey: "j", Kind: quartzstore.KindCron, Cron: "*/2 * * * * *"})
	after, _ := f.s.Now(f.ctx)
	if got := f.getTrigger(t, "once").NextFireTime; got.Before(before.Truncate(time.Millisecond)) || got.After(after) {
		t.Errorf("once NextFireTime = %v, want between %v and %v", got, before, after)
	}
	got := f.getTrigger(t, "cron").NextFireTime
	if !got.After(before) || got.After(after.Add(2*time.Second)) || got.Second()%2 != 0 || got.Nanosecond() != 0 {
		t.Errorf("cron NextFireTime = %v, want the next even second after %v", got, before)
	}
}

func testOnce(t *testing.T, f *fixture) {
	j := f.job(t, "task", "", false)
	f.once(t, "task", base)
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base.Add(-time.Millisecond)}); len(fs) != 0 {
		t.Fatalf("acquired before due: %+v", fs)
	}
	now := base.Add(250 * time.Millisecond)
	fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{InstanceID: "node-a", Now: now})
	want := quartzstore.FiredTrigger{FireID: fmt.Sprintf("task@%d", base.UnixMilli()), TriggerKey: "task", JobKey: "task",
		InstanceID: "node-a", ScheduledTime: base, FiredTime: now, Data: j.Data}
	if len(fs) != 1 || !equalFired(fs[0], want) {
		t.Fatalf("acquired %+v\nwant [%+v]", fs, want)
	}
	_, err := f.s.TriggersGet(f.ctx, "task")
	wantErr(t, "TriggersGet(fired once trigger)", err, quartzstore.ErrNotFound)
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base.Add(time.Hour)}); len(fs) != 0 {
		t.Fatalf("once trigger fired again: %+v", fs)
	}
	if list := f.fired(t); len(list) != 1 || !equalFired(list[0], want) {
		t.Fatalf("FiredTriggersList = %+v", list)
	}
	if err := f.s.FiredTriggersComplete(f.ctx, want.FireID); err != nil {
		t.Fatal(err)
	}
	if list := f.fired(t); len(list) != 0 {
		t.Fatalf("FiredTriggersList after complete = %+v", list)
	}
	wantErr(t, "FiredTriggersComplete(again)", f.s.FiredTriggersComplete(f.ctx, want.FireID), quartzstore.ErrNotFound)
}

func equalFired(a, b quartzstore.FiredTrigger) bool {
	return a.FireID == b.FireID && a.TriggerKey == b.TriggerKey && a.JobKey == b.JobKey && a.Group == b.Group &&
		a.InstanceID == b.InstanceID && a.ScheduledTime.Equal(b.ScheduledTime) && a.FiredTime.Equal(b.FiredTime) &&
		a.Recovering == b.Recovering && maps.Equal(a.Data, b.Data)
}

func testInterval(t *testing.T, f *fixture) {
	f.job(t, "task", "", false)
	f.trigger(t, quartzstore.Trigger{Key: "task", JobKey: "task", Kind: quartzstore.KindInterval, Interval: 10 * time.Second, NextFireTime: base})
	steps := []struct {
		now       time.Duration
		scheduled []time.Duration // fired
		next      time.Duration
	}{
		{0, []time.Duration{0}, 10 * time.Second},
		{5 * time.Second, nil, 10 * time.Second},
		{10*time.Second + 100*time.Millisecond, []time.Duration{10 * time.Second}, 20 * time.Second},
		{23 * time.Second, []time.Duration{20 * time.Second}, 30 * time.Second},
	}
	for _, st := range steps {
		fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base.Add(st.now), MisfireThreshold: 5 * time.Second})
		var got []time.Duration
		for _, fr := range fs {
			got = append(got, fr.ScheduledTime.Sub(base))
		}
		if !slices.Equal(got, st.scheduled) {
			t.Errorf("at +%v fired %v, want %v", st.now, got, st.scheduled)
		}
		tr := f.getTrigger(t, "task")
		if tr.NextFireTime.Sub(base) != st.next {
			t.Errorf("at +%v NextFireTime = +%v, want +%v", st.now, tr.NextFireTime.Sub(base), st.next)
		}
		if len(st.scheduled) > 0 && !tr.PrevFireTime.Equal(base.Add(st.scheduled[0])) {
			t.Errorf("at +%v PrevFireTime = %v, want +%v", st.now, tr.PrevFireTime, st.scheduled[0])
		}
	}
}

func testCron(t *testing.T, f *fixture) {
	f.job(t, "task", "", false)
	tr := quartzstore.Trigger{Key: "task", JobKey: "task", Kind: quartzstore.KindCron, Cron: "*/2 * * * * *"}
	first, ok := quartzstore.NextFireTime(tr, base.Add(500*time.Millisecond))
	if !ok || !first.Equal(base.Add(2*time.Second)) {
		t.Fatalf("NextFireTime = %v, %v; want %v", first, ok, base.Add(2*time.Second))
	}
	tr.NextFireTime = first
	f.trigger(t, tr)
	var fired []int
	for ms := 1000; ms <= 9500; ms += 500 {
		now := base.Add(time.Duration(ms) * time.Millisecond)
		for _, fr := range f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: now, MisfireThreshold: time.Second}) {
			if fr.ScheduledTime.After(now) || now.Sub(fr.ScheduledTime) >= time.Second {
				t.Errorf("at %v fired scheduled %v", now, fr.ScheduledTime)
			}
			fired = append(fired, fr.ScheduledTime.Second())
		}
	}
	if want := []int{2, 4, 6, 8}; !slices.Equal(fired, want) {
		t.Errorf("fired on seconds %v, want %v", fired, want)
	}
	if got := f.getTrigger(t, "task").NextFireTime; !got.Equal(base.Add(10 * time.Second)) {
		t.Errorf("NextFireTime = %v, want %v", got, base.Add(10*time.Second))
	}
}

func testMisfire(t *testing.T, f *fixture) {
	const threshold = 5 * time.Second
	late := time.Minute + 500*time.Millisecond
	tests := []struct {
		name    string
		tr      quartzstore.Trigger
		late    time.Duration
		fires   bool
		nextRel time.Duration // next fire time relative to base; 0 = trigger deleted
	}{
		{"interval fireNow", quartzstore.Trigger{Kind: quartzstore.KindInterval, Interval: 10 * time.Second}, late, true, late + 10*time.Second},
		{"interval default is fireNow", quartzstore.Trigger{Kind: quartzstore.KindInterval, Interval: 10 * time.Second, Misfire: ""}, late, true, late + 10*time.Second},
		{"interval skip keeps phase", quartzstore.Trigger{Kind: quartzstore.KindInterval, Interval: 10 * time.Second, Misfire: quartzstore.MisfireSkip}, late, false, 70 * time.Second},
		{"cron fireNow", quartzstore.Trigger{Kind: quartzstore.KindCron, Cron: "0 * * * * *"}, late, true, 2 * time.Minute},
		{"cron skip", quartzstore.Trigger{Kind: quartzstore.KindCron, Cron: "0 * * * * *", Misfire: quartzstore.MisfireSkip}, late, false, 2 * time.Minute},
		{"once skip still fires", quartzstore.Trigger{Kind: quartzstore.KindOnce, Misfire: quartzstore.MisfireSkip}, late, true, 0},
		{"within threshold skip fires on time", quartzstore.Trigger{Kind: quartzstore.KindInterval, Interval: 10 * time.Second, Misfire: quartzstore.MisfireSkip}, 3 * time.Second, true, 10 * time.Second},
	}
	for i, tc := range tests {
		key := fmt.Sprintf("m%d", i)
		f.job(t, key, key, false) // own group, so each case acquires alone
		tc.tr.Key, tc.tr.JobKey, tc.tr.NextFireTime = key, key, base
		f.trigger(t, tc.tr)
		now := base.Add(tc.late)
		fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: now, Groups: []string{key}, MisfireThreshold: threshold})
		if tc.fires != (len(fs) == 1) || len(fs) > 1 {
			t.Errorf("%s: fired %+v, want fire=%v", tc.name, fs, tc.fires)
		}
		if len(fs) == 1 && (!fs[0].ScheduledTime.Equal(base) || !fs[0].FiredTime.Equal(now)) {
			t.Errorf("%s: scheduled %v fired %v, want %v and %v", tc.name, fs[0].ScheduledTime, fs[0].FiredTime, base, now)
		}
		tr, err := f.s.TriggersGet(f.ctx, key)
		switch {
		case tc.nextRel == 0:
			wantErr(t, tc.name+": trigger after fire", err, quartzstore.ErrNotFound)
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tr.NextFireTime.Equal(base.Add(tc.nextRel)):
			t.Errorf("%s: NextFireTime = +%v, want +%v", tc.name, tr.NextFireTime.Sub(base), tc.nextRel)
		}
	}
}

func testPaused(t *testing.T, f *fixture) {
	f.job(t, "task", "", false)
	f.once(t, "task", base)
	if err := f.s.TriggersPause(f.ctx, "task"); err != nil {
		t.Fatal(err)
	}
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base.Add(time.Second)}); len(fs) != 0 {
		t.Fatalf("paused trigger acquired: %+v", fs)
	}
	if _, ok, err := f.s.TriggersNextFireTime(f.ctx, quartzstore.TriggersNextFireTimeParams{}); err != nil || ok {
		t.Errorf("TriggersNextFireTime with only a paused trigger: ok=%v err=%v", ok, err)
	}
	if err := f.s.TriggersResume(f.ctx, "task"); err != nil {
		t.Fatal(err)
	}
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base.Add(time.Second), MisfireThreshold: 5 * time.Second}); len(fs) != 1 {
		t.Fatalf("resumed trigger: acquired %+v, want one", fs)
	}
}

func testGroups(t *testing.T, f *fixture) {
	for _, g := range []string{"", "a", "b"} {
		key := "job-" + g
		f.job(t, key, g, false)
		f.once(t, key, base)
	}
	tests := []struct {
		groups []string
		want   []string
	}{
		{[]string{}, nil},
		{[]string{"a"}, []string{"job-a"}},
		{[]string{"", "zzz"}, []string{"job-"}},
		{nil, []string{"job-b"}},
	}
	for _, tc := range tests {
		fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base, Groups: tc.groups})
		if got := keysOf(fs); !slices.Equal(got, tc.want) {
			t.Errorf("groups %q: acquired %v, want %v", tc.groups, got, tc.want)
		}
		for _, fr := range fs {
			if fr.Group != fr.JobKey[len("job-"):] {
				t.Errorf("fired %s has group %q", fr.JobKey, fr.Group)
			}
		}
	}
}

func testMaxCount(t *testing.T, f *fixture) {
	for i := range 5 {
		key := fmt.Sprintf("t%d", i)
		f.job(t, key, "", false)
		f.once(t, key, base.Add(time.Duration(4-i)*time.Millisecond)) // t4 is due first
	}
	now := base.Add(time.Second)
	for _, tc := range []struct {
		max  int
		want []string
	}{{2, []string{"t4", "t3"}}, {-1, []string{"t2"}}, {5, []string{"t1", "t0"}}} {
		fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: now, MaxCount: tc.max, MisfireThreshold: time.Minute})
		if got := keysOf(fs); !slices.Equal(got, tc.want) {
			t.Errorf("MaxCount %d: acquired %v, want %v", tc.max, got, tc.want)
		}
	}
}

func testLookahead(t *testing.T, f *fixture) {
	f.job(t, "task", "", false)
	f.once(t, "task", base.Add(500*time.Millisecond))
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base}); len(fs) != 0 {
		t.Fatalf("acquired without lookahead: %+v", fs)
	}
	fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base, Lookahead: time.Second})
	if len(fs) != 1 || !fs[0].ScheduledTime.Equal(base.Add(500*time.Millisecond)) {
		t.Fatalf("with lookahead acquired %+v", fs)
	}
}

func testNextFireTime(t *testing.T, f *fixture) {
	next := func(groups []string) time.Time {
		t.Helper()
		at, ok, err := f.s.TriggersNextFireTime(f.ctx, quartzstore.TriggersNextFireTimeParams{Groups: groups})
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return time.Time{}
		}
		return at
	}
	if at := next(nil); !at.IsZero() {
		t.Errorf("empty store: next = %v", at)
	}
	f.job(t, "a", "", false)
	f.job(t, "b", "b", false)
	f.job(t, "p", "", false)
	f.once(t, "a", base.Add(5*time.Second))
	f.once(t, "b", base.Add(7*time.Second))
	f.once(t, "p", base.Add(3*time.Second))
	if err := f.s.TriggersPause(f.ctx, "p"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		groups []string
		want   time.Time
	}{{nil, base.Add(5 * time.Second)}, {[]string{"b"}, base.Add(7 * time.Second)}, {[]string{}, time.Time{}}} {
		if at := next(tc.groups); !at.Equal(tc.want) {
			t.Errorf("groups %q: next = %v, want %v", tc.groups, at, tc.want)
		}
	}
}

func testFireIDIdempotent(t *testing.T, f *fixture) {
	f.job(t, "task", "", false)
	tr := quartzstore.Trigger{Key: "task", JobKey: "task", Kind: quartzstore.KindInterval, Interval: time.Minute, NextFireTime: base}
	f.trigger(t, tr)
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base}); len(fs) != 1 {
		t.Fatalf("first acquire: %+v", fs)
	}
	// Rescheduled to the time that already fired (and is still running): no second fire.
	f.trigger(t, tr)
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base.Add(time.Second), MisfireThreshold: 5 * time.Second}); len(fs) != 0 {
		t.Fatalf("the same scheduled time fired twice: %+v", fs)
	}
	if got := f.getTrigger(t, "task").NextFireTime; !got.Equal(base.Add(time.Minute)) {
		t.Errorf("NextFireTime = %v, want it advanced to %v", got, base.Add(time.Minute))
	}
	if list := f.fired(t); len(list) != 1 {
		t.Errorf("FiredTriggersList = %+v, want one", list)
	}
}

// testConcurrentAcquire: 8 acquirers on two handles race over 200 due triggers.
// testConcurrentScheduleDelete: a task rescheduled (job and trigger
// together, or its trigger alone) at the moment it is suspended elsewhere
// (its job deleted) never fails with a deadlock: each call either takes
// effect or, for a job already gone, reports ErrNotFound.
func testConcurrentScheduleDelete(t *testing.T, f *fixture) {
	const rounds = 150
	stores := []quartzstore.Store{f.s, f.peer()}
	var wg sync.WaitGroup
	errs := make(chan error, 3*rounds)
	for w := range 3 {
		wg.Go(func() {
			s := stores[w%len(stores)]
			for i := range rounds {
				key := fmt.Sprintf("job%d", i%5)
				var err error
				switch w {
				case 0:
					err = s.JobsSchedule(f.ctx, quartzstore.Job{Key: key, Group: "g"},
						quartzstore.Trigger{Key: key, Kind: quartzstore.KindInterval, Interval: time.Hour, NextFireTime: base})
				case 1:
					err = s.TriggersUpsert(f.ctx, quartzstore.Trigger{Key: key, JobKey: key, Kind: quartzstore.KindInterval,
						Interval: time.Hour, NextFireTime: base.Add(time.Minute)})
				default:
					err = s.JobsDelete(f.ctx, key)
				}
				if err != nil && !errors.Is(err, quartzstore.ErrNotFound) {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("schedule and delete racing: %v", err)
	}
}

func testConcurrentAcquire(t *testing.T, f *fixture) {
	const n, workers = 200, 8
	for i := range n {
		key := fmt.Sprintf("t%03d", i)
		f.job(t, key, "", false)
		if i%2 == 0 {
			f.once(t, key, base.Add(time.Duration(i%7)*time.Millisecond))
		} else {
			f.trigger(t, quartzstore.Trigger{Key: key, JobKey: key, Kind: quartzstore.KindInterval, Interval: time.Hour, NextFireTime: base})
		}
	}
	stores := []quartzstore.Store{f.s, f.peer()}
	var mu sync.Mutex
	count := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			s := stores[w%len(stores)]
			for {
				fs, err := s.TriggersAcquireNext(f.ctx, quartzstore.TriggersAcquireNextParams{
					InstanceID: fmt.Sprintf("w%d", w), Now: base.Add(time.Second), MaxCount: 7, MisfireThreshold: time.Minute,
				})
				if err != nil {
					errs <- err
					return
				}
				if len(fs) == 0 {
					return
				}
				mu.Lock()
				for _, fr := range fs {
					count[fr.FireID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("acquire: %v", err)
	}
	if left := f.acquire(t, quartzstore.TriggersAcquireNextParams{Now: base.Add(time.Second), MisfireThreshold: time.Minute}); len(left) != 0 {
		t.Errorf("%d triggers left unfired after the race", len(left))
	}
	if len(count) != n {
		t.Errorf("%d distinct fires, want %d", len(count), n)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("%s fired %d times", id, c)
		}
	}
	if list := f.fired(t); len(list) != n {
		t.Errorf("FiredTriggersList has %d rows, want %d", len(list), n)
	}
}

func testInstances(t *testing.T, f *fixture) {
	checkIn := func(id string, at time.Duration) {
		t.Helper()
		if err := f.s.InstancesCheckIn(f.ctx, quartzstore.InstancesCheckInParams{ID: id, Now: base.Add(at), Interval: 2 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	checkIn("b", 0)
	checkIn("a", 0)
	checkIn("a", 3*time.Second)
	list, err := f.s.InstancesList(f.ctx)
	want := []quartzstore.Instance{{ID: "a", LastCheckIn: base.Add(3 * time.Second), Interval: 2 * time.Second}, {ID: "b", LastCheckIn: base, Interval: 2 * time.Second}}
	if err != nil || !slices.EqualFunc(list, want, func(x, y quartzstore.Instance) bool {
		return x.ID == y.ID && x.LastCheckIn.Equal(y.LastCheckIn) && x.Interval == y.Interval
	}) {
		t.Fatalf("InstancesList = %+v, %v; want %+v", list, err, want)
	}

	// An instance with a fire in progress stays registered on removal.
	f.job(t, "task", "", true)
	f.once(t, "task", base)
	fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{InstanceID: "a", Now: base})
	if err := f.s.InstancesRemove(f.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.InstancesRemove(f.ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.InstancesRemove(f.ctx, "never-seen"); err != nil {
		t.Errorf("InstancesRemove(unknown) = %v, want nil", err)
	}
	if list, _ := f.s.InstancesList(f.ctx); len(list) != 1 || list[0].ID != "a" {
		t.Fatalf("after removal InstancesList = %+v, want only a (it still runs a job)", list)
	}
	if err := f.s.FiredTriggersComplete(f.ctx, fs[0].FireID); err != nil {
		t.Fatal(err)
	}
	if err := f.s.InstancesRemove(f.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.s.InstancesList(f.ctx); len(list) != 0 {
		t.Fatalf("after removal InstancesList = %+v, want none", list)
	}
}

// testRecover: a dead instance's fires are recovered exactly once, by one of
// several live instances recovering at the same time.
func testRecover(t *testing.T, f *fixture) {
	rec := f.job(t, "rec", "g", true)
	f.job(t, "norec", "g", false)
	f.once(t, "rec", base)
	f.once(t, "norec", base)
	for _, id := range []string{"dead", "self-stale"} {
		if err := f.s.InstancesCheckIn(f.ctx, quartzstore.InstancesCheckInParams{ID: id, Now: base, Interval: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{InstanceID: "dead", Now: base}); len(fs) != 2 {
		t.Fatalf("dead instance acquired %+v", fs)
	}
	now := base.Add(30 * time.Second)
	live := []string{"a", "b", "c", "d"}
	for _, id := range live {
		if err := f.s.InstancesCheckIn(f.ctx, quartzstore.InstancesCheckInParams{ID: id, Now: now, Interval: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	stores := []quartzstore.Store{f.s, f.peer()}
	results := make([]quartzstore.RecoverResult, len(live))
	var wg sync.WaitGroup
	var failed atomic.Value
	for i, id := range live {
		wg.Go(func() {
			res, err := stores[i%2].InstancesRecover(f.ctx, quartzstore.InstancesRecoverParams{Self: id, Now: now, Timeout: 10 * time.Second})
			if err != nil {
				failed.Store(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatalf("InstancesRecover: %v", err)
	}
	var dead, jobs []string
	for _, r := range results {
		dead = append(dead, r.InstanceIDs...)
		jobs = append(jobs, r.JobKeys...)
	}
	slices.Sort(dead)
	if want := []string{"dead", "self-stale"}; !slices.Equal(dead, want) || !slices.Equal(jobs, []string{"rec"}) {
		t.Fatalf("recovered instances %v jobs %v; want %v and [rec] exactly once", dead, jobs, want)
	}
	if list := f.fired(t); len(list) != 0 {
		t.Errorf("dead instance's fires not deleted: %+v", list)
	}
	list, _ := f.s.InstancesList(f.ctx)
	var ids []string
	for _, in := range list {
		ids = append(ids, in.ID)
	}
	if !slices.Equal(ids, live) {
		t.Errorf("InstancesList = %v, want %v", ids, live)
	}
	ts, _ := f.s.TriggersListByJob(f.ctx, "rec")
	if len(ts) != 1 || !ts[0].Recovering || ts[0].Kind != quartzstore.KindOnce || !ts[0].NextFireTime.Equal(now) || ts[0].Group != "g" {
		t.Fatalf("recovery triggers of rec = %+v", ts)
	}
	fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{InstanceID: "a", Now: now.Add(100 * time.Millisecond), MisfireThreshold: 5 * time.Second})
	if len(fs) != 1 || fs[0].JobKey != "rec" || !fs[0].Recovering || fs[0].Group != "g" || !maps.Equal(fs[0].Data, rec.Data) {
		t.Fatalf("recovery fire = %+v", fs)
	}
	if res, err := f.s.InstancesRecover(f.ctx, quartzstore.InstancesRecoverParams{Self: "a", Now: now, Timeout: 10 * time.Second}); err != nil || len(res.InstanceIDs)+len(res.JobKeys) != 0 {
		t.Errorf("second recovery = %+v, %v; want nothing", res, err)
	}
	// An instance never recovers itself, however stale.
	if res, _ := f.s.InstancesRecover(f.ctx, quartzstore.InstancesRecoverParams{Self: "a", Now: now.Add(time.Hour), Timeout: 10 * time.Second}); slices.Contains(res.InstanceIDs, "a") {
		t.Errorf("instance a recovered itself: %+v", res)
	}
	// Timeout 0 recovers nothing.
	if res, _ := f.s.InstancesRecover(f.ctx, quartzstore.InstancesRecoverParams{Self: "x", Now: now.Add(2 * time.Hour)}); len(res.InstanceIDs) != 0 {
		t.Errorf("Timeout 0 recovered %+v", res)
	}
}

// testRecoverOrphans: fires whose instance row is gone are recovered once
// they are older than the timeout.
func testRecoverOrphans(t *testing.T, f *fixture) {
	f.job(t, "rec", "", true)
	f.once(t, "rec", base)
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{InstanceID: "ghost", Now: base}); len(fs) != 1 {
		t.Fatalf("acquired %+v", fs)
	}
	p := quartzstore.InstancesRecoverParams{Self: "a", Now: base.Add(5 * time.Second), Timeout: 10 * time.Second}
	if res, err := f.s.InstancesRecover(f.ctx, p); err != nil || len(res.JobKeys) != 0 {
		t.Fatalf("young orphan recovered: %+v, %v", res, err)
	}
	p.Now = base.Add(11 * time.Second)
	if res, err := f.s.InstancesRecover(f.ctx, p); err != nil || !slices.Equal(res.JobKeys, []string{"rec"}) || len(res.InstanceIDs) != 0 {
		t.Fatalf("orphan recovery = %+v, %v; want jobs [rec]", res, err)
	}
}

// --- scheduler over the store, on the real clock ---

var discard = slog.New(slog.DiscardHandler)

func newScheduler(t *testing.T, s quartzstore.Store, cfg quartzstore.SchedulerConfig) *quartzstore.Scheduler {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = discard
	}
	if cfg.IdleWait == 0 {
		cfg.IdleWait = 100 * time.Millisecond
	}
	sch := quartzstore.NewScheduler(s, cfg)
	if err := sch.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sch.Stop(ctx)
	})
	return sch
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) now(t *testing.T) time.Time {
	t.Helper()
	now, err := f.s.Now(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return now
}

func testSchedulerBoundedPool(t *testing.T, f *fixture) {
	const jobs = 10
	now := f.now(t)
	for i := range jobs {
		key := fmt.Sprintf("t%d", i)
		f.job(t, key, "", false)
		f.once(t, key, now.Add(time.Duration(i)*10*time.Millisecond))
	}
	var cur, peak, done atomic.Int64
	var mu sync.Mutex
	ran := map[string]int{}
	newScheduler(t, f.s, quartzstore.SchedulerConfig{InstanceID: "pool", Threads: 2, Runner: func(ctx context.Context, fr quartzstore.FiredTrigger) error {
		c := cur.Add(1)
		for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
		}
		time.Sleep(40 * time.Millisecond)
		cur.Add(-1)
		mu.Lock()
		ran[fr.JobKey]++
		mu.Unlock()
		done.Add(1)
		return errors.New("job errors still complete the fire")
	}})
	waitFor(t, "all jobs to run", 15*time.Second, func() bool { return done.Load() == jobs })
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("peak concurrency %d, want at most 2 (Threads=2)", p)
	}
	mu.Lock()
	for k, n := range ran {
		if n != 1 {
			t.Errorf("%s ran %d times", k, n)
		}
	}
	mu.Unlock()
	waitFor(t, "fired triggers to complete", 5*time.Second, func() bool { return len(f.fired(t)) == 0 })
}

func testSchedulerStop(t *testing.T, f *fixture) {
	f.job(t, "slow", "", true)
	f.job(t, "stuck", "", true)
	f.once(t, "slow", f.now(t))
	started := make(chan struct{})
	var finished atomic.Bool
	sch := quartzstore.NewScheduler(f.s, quartzstore.SchedulerConfig{InstanceID: "stopper", IdleWait: 50 * time.Millisecond, Logger: discard,
		Runner: func(ctx context.Context, fr quartzstore.FiredTrigger) error {
			close(started)
			time.Sleep(300 * time.Millisecond)
			finished.Store(true)
			return nil
		}})
	if err := sch.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	<-started
	if sch.Running() != 1 {
		t.Errorf("Running = %d, want 1", sch.Running())
	}
	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	if err := sch.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !finished.Load() || sch.Running() != 0 {
		t.Fatalf("Stop returned before the running job finished (finished=%v running=%d)", finished.Load(), sch.Running())
	}
	if list := f.fired(t); len(list) != 0 {
		t.Errorf("fired triggers after Stop: %+v", list)
	}
	if list, _ := f.s.InstancesList(f.ctx); len(list) != 0 {
		t.Errorf("instances after Stop: %+v", list)
	}

	// A job that outlives Stop's deadline: Stop gives up, the instance stays
	// registered so that peers recover the fire.
	stuck := make(chan struct{})
	sch = quartzstore.NewScheduler(f.s, quartzstore.SchedulerConfig{InstanceID: "stopper2", IdleWait: 50 * time.Millisecond, Logger: discard,
		Runner: func(ctx context.Context, fr quartzstore.FiredTrigger) error {
			close(stuck)
			<-ctx.Done()
			return ctx.Err()
		}})
	if err := sch.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.once(t, "stuck", f.now(t))
	sch.Wake()
	<-stuck
	short, cancel2 := context.WithTimeout(f.ctx, 100*time.Millisecond)
	defer cancel2()
	if err := sch.Stop(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop with a stuck job = %v, want deadline exceeded", err)
	}
	if list, _ := f.s.InstancesList(f.ctx); len(list) != 1 || list[0].ID != "stopper2" {
		t.Errorf("instances after an unfinished Stop = %+v, want stopper2 kept", list)
	}
}

func testSchedulerPause(t *testing.T, f *fixture) {
	f.job(t, "task", "", false)
	ran := make(chan quartzstore.FiredTrigger, 10)
	sch := newScheduler(t, f.s, quartzstore.SchedulerConfig{InstanceID: "pauser", IdleWait: 5 * time.Second,
		Runner: func(ctx context.Context, fr quartzstore.FiredTrigger) error { ran <- fr; return nil }})
	sch.Pause()
	if !sch.Paused() {
		t.Fatal("Paused() = false after Pause")
	}
	sch.Wake() // let the loop see the pause before the trigger exists
	time.Sleep(50 * time.Millisecond)
	f.once(t, "task", f.now(t))
	sch.Wake()
	select {
	case fr := <-ran:
		t.Fatalf("a paused scheduler ran %+v", fr)
	case <-time.After(300 * time.Millisecond):
	}
	start := time.Now()
	sch.Resume()
	select {
	case <-ran:
		// IdleWait is 5s: only Resume's wake-up makes this fast.
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("resumed job started after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("resumed scheduler did not run the due job")
	}
	// Wake picks up a newly added trigger without waiting for IdleWait.
	f.once(t, "task", f.now(t))
	start = time.Now()
	sch.Wake()
	select {
	case <-ran:
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("woken job started after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wake did not make the scheduler run the new job")
	}
}

func testSchedulerRecovers(t *testing.T, f *fixture) {
	f.job(t, "rec", "", true)
	now := f.now(t)
	f.once(t, "rec", now)
	if err := f.s.InstancesCheckIn(f.ctx, quartzstore.InstancesCheckInParams{ID: "dead", Now: now.Add(-time.Hour), Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	if fs := f.acquire(t, quartzstore.TriggersAcquireNextParams{InstanceID: "dead", Now: now}); len(fs) != 1 {
		t.Fatalf("acquired %+v", fs)
	}
	ran := make(chan quartzstore.FiredTrigger, 1)
	newScheduler(t, f.s, quartzstore.SchedulerConfig{InstanceID: "rescuer", CheckInInterval: 100 * time.Millisecond, InstanceTimeout: time.Second,
		Runner: func(ctx context.Context, fr quartzstore.FiredTrigger) error { ran <- fr; return nil }})
	select {
	case fr := <-ran:
		if fr.JobKey != "rec" || !fr.Recovering || fr.InstanceID != "rescuer" {
			t.Errorf("recovered fire = %+v", fr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the dead instance's job was not recovered")
	}
}

// testSchedulerInterval: with IdleWait far above the interval, fires still
// come on time, because the loop sleeps until the next fire time.
func testSchedulerInterval(t *testing.T, f *fixture) {
	f.job(t, "tick", "", false)
	f.trigger(t, quartzstore.Trigger{Key: "tick", JobKey: "tick", Kind: quartzstore.KindInterval, Interval: 100 * time.Millisecond,
		NextFireTime: f.now(t).Add(100 * time.Millisecond)})
	ran := make(chan quartzstore.FiredTrigger, 100)
	newScheduler(t, f.s, quartzstore.SchedulerConfig{InstanceID: "ticker", IdleWait: 10 * time.Second,
		Runner: func(ctx context.Context, fr quartzstore.FiredTrigger) error { ran <- fr; return nil }})
	var prev time.Time
	for i := range 4 {
		select {
		case fr := <-ran:
			if i > 0 && fr.ScheduledTime.Sub(prev) != 100*time.Millisecond {
				t.Errorf("fire %d scheduled %v after the previous, want 100ms", i, fr.ScheduledTime.Sub(prev))
			}
			if late := fr.FiredTime.Sub(fr.ScheduledTime); late < 0 || late > time.Second {
				t.Errorf("fire %d claimed %v after its time", i, late)
			}
			prev = fr.ScheduledTime
		case <-time.After(3 * time.Second):
			t.Fatalf("only %d fires of a 100ms interval trigger in time", i)
		}
	}
}
