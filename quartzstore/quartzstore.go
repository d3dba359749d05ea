// Package quartzstore is a Quartz-style scheduler with a pluggable job store.
//
// A Job is a durable unit of work (Cadre keeps one per task); Triggers say when it runs
// (once, every interval, or by a cron expression with seconds). A Scheduler claims
// due triggers from a Store, records each claim as a FiredTrigger row owned by its
// instance, runs the job on a bounded pool and deletes the row when the job returns.
// Schedulers check in periodically; when an instance stops checking in, a peer
// recovers it: the fired triggers of its jobs that request recovery fire again.
//
// Stores: SQLStore (SQLite and PostgreSQL on a *sql.DB, shared by a cluster) and MemoryStore
// (a single process). Every time-dependent store call takes "now" from the caller:
// the database clock in production, an injected clock in tests. Times are kept in
// UTC at millisecond precision.
package quartzstore

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Store methods wrap them; test with errors.Is.
var (
	// ErrNotFound: the job, trigger, fired trigger or instance does not exist.
	ErrNotFound = errors.New("quartzstore: not found")
	// ErrBadCron: a cron expression does not parse (six fields with seconds, or a descriptor).
	ErrBadCron = errors.New("quartzstore: invalid cron expression")
	// ErrInvalidTrigger: a trigger is malformed (unknown kind or misfire policy, interval <= 0, no key).
	ErrInvalidTrigger = errors.New("quartzstore: invalid trigger")
)

// Job is a durable unit of work, kept until deleted.
type Job struct {
	// Key identifies the job (Cadre uses the task OID).
	Key string
	// Group is the execution group; "" is the unnamed group. Triggers copy it.
	Group string
	// RequestRecovery asks peers to fire the job again when the instance running it dies.
	RequestRecovery bool
	// Data is passed to every fire of the job (FiredTrigger.Data).
	Data map[string]string
}

// TriggerKind says how a trigger recurs.
type TriggerKind string

// Trigger kinds.
const (
	// KindOnce fires once at NextFireTime and is then deleted.
	KindOnce TriggerKind = "once"
	// KindInterval fires at NextFireTime and then every Interval.
	KindInterval TriggerKind = "interval"
	// KindCron fires at the times of a cron expression with seconds.
	KindCron TriggerKind = "cron"
)

// MisfirePolicy says what happens to a trigger whose fire time passed more than
// the misfire threshold ago (the cluster was down or busy).
type MisfirePolicy string

// Misfire policies.
const (
	// MisfireFireNow fires once now and computes the next fire time from now. The default.
	MisfireFireNow MisfirePolicy = "fireNow"
	// MisfireSkip does not fire; the trigger advances to its first fire time after now.
	// A once trigger has no later time, so it fires anyway (as with fireNow).
	MisfireSkip MisfirePolicy = "skip"
)

// Trigger says when a job fires.
type Trigger struct {
	// Key identifies the trigger.
	Key string
	// JobKey names an existing job.
	JobKey string
	// Kind is once, interval or cron.
	Kind TriggerKind
	// Interval separates fires of an interval trigger (millisecond precision, > 0).
	Interval time.Duration
	// Cron is a cron expression with seconds ("*/2 * * * * *") or a descriptor
	// ("@every 5s", "@daily"), evaluated in UTC unless prefixed with CRON_TZ=.
	Cron string
	// Misfire is the misfire policy; "" means fireNow.
	Misfire MisfirePolicy
	// Group is copied from the job by TriggersUpsert (and kept in step by JobsUpsert).
	Group string
	// NextFireTime is when the trigger fires next. Zero on upsert means: once and
	// interval fire at the store's Now, cron at its first time after Now.
	NextFireTime time.Time
	// PrevFireTime is the scheduled time of the last fire (zero before the first).
	PrevFireTime time.Time
	// Paused triggers are never acquired.
	Paused bool
	// Recovering marks a one-shot trigger created by InstancesRecover; it fires with
	// FiredTrigger.Recovering set.
	Recovering bool
}

// FiredTrigger records a claimed fire until the job completes.
type FiredTrigger struct {
	// FireID is TriggerKey + "@" + ScheduledTime in unix milliseconds. It is unique,
	// so a trigger never fires twice for one scheduled time.
	FireID     string
	TriggerKey string
	JobKey     string
	Group      string
	// InstanceID is the scheduler instance that claimed the fire.
	InstanceID string
	// ScheduledTime is the fire time the trigger had when claimed (for a misfire
	// under fireNow, the missed time).
	ScheduledTime time.Time
	// FiredTime is when it was claimed (Now of the acquiring call).
	FiredTime time.Time
	// Recovering is set when the fire re-runs the job of a dead instance.
	Recovering bool
	// Data is the job's data at the time of the fire.
	Data map[string]string
}

// Instance is a scheduler instance that checks in.
type Instance struct {
	ID          string
	LastCheckIn time.Time
	// Interval is the check-in interval the instance promised.
	Interval time.Duration
}

// TriggersAcquireNextParams select and claim due triggers.
type TriggersAcquireNextParams struct {
	// InstanceID owns the fired-trigger rows.
	InstanceID string
	// Now is the current time (database clock).
	Now time.Time
	// Lookahead also claims triggers due up to Now+Lookahead; default 0.
	Lookahead time.Duration
	// MaxCount bounds the triggers claimed; <= 0 means 1. Misfired triggers
	// skipped under MisfireSkip count too, so fewer fires may come back.
	MaxCount int
	// Groups limits the execution groups claimed; nil means any, an empty
	// non-nil slice means none. "" names the unnamed group.
	Groups []string
	// MisfireThreshold: a trigger due before Now-MisfireThreshold has misfired; default 0.
	MisfireThreshold time.Duration
}

// TriggersNextFireTimeParams select the triggers TriggersNextFireTime looks at.
type TriggersNextFireTimeParams struct {
	// Groups as in TriggersAcquireNextParams: nil means any.
	Groups []string
}

// InstancesCheckInParams record a check-in.
type InstancesCheckInParams struct {
	ID       string
	Now      time.Time
	Interval time.Duration
}

// InstancesRecoverParams select dead instances.
type InstancesRecoverParams struct {
	// Self is the recovering instance; it is never recovered.
	Self string
	// Now is the current time (database clock).
	Now time.Time
	// Timeout: an instance whose last check-in is before Now-Timeout is dead.
	// Fired triggers whose instance row is gone are recovered once they are
	// older than Timeout. Timeout <= 0 recovers nothing.
	Timeout time.Duration
}

// RecoverResult tells what InstancesRecover did.
type RecoverResult struct {
	// InstanceIDs are the dead instances removed.
	InstanceIDs []string
	// JobKeys are the jobs that got a recovery trigger.
	JobKeys []string
}

// Store is the job-store contract. Methods are safe for concurrent use, also
// from several processes sharing one database.
type Store interface {
	// JobsUpsert creates or replaces a job; a changed group propagates to its triggers.
	JobsUpsert(ctx context.Context, job Job) error
	// JobsGet returns a job or ErrNotFound.
	JobsGet(ctx context.Context, key string) (Job, error)
	// JobsDelete deletes a job and its triggers (ErrNotFound when absent).
	// Fired triggers of running fires stay until completed.
	JobsDelete(ctx context.Context, key string) error

	// JobsSchedule upserts a job and one trigger of it (its JobKey is set to
	// the job's key) in one transaction, as JobsUpsert then TriggersUpsert.
	JobsSchedule(ctx context.Context, job Job, t Trigger) error
	// TriggersUpsert creates or replaces a trigger. The job must exist
	// (ErrNotFound); a bad cron is ErrBadCron, other defects ErrInvalidTrigger.
	TriggersUpsert(ctx context.Context, t Trigger) error
	// TriggersGet returns a trigger or ErrNotFound.
	TriggersGet(ctx context.Context, key string) (Trigger, error)
	// TriggersDelete deletes a trigger (ErrNotFound when absent).
	TriggersDelete(ctx context.Context, key string) error
	// TriggersListByJob lists a job's triggers by key.
	TriggersListByJob(ctx context.Context, jobKey string) ([]Trigger, error)
	// TriggersPause stops a trigger from being acquired (ErrNotFound when absent).
	TriggersPause(ctx context.Context, key string) error
	// TriggersResume lets a paused trigger be acquired again; a misfire is
	// handled at the next acquisition.
	TriggersResume(ctx context.Context, key string) error
	// TriggersAcquireNext atomically claims due, unpaused triggers of the
	// groups, oldest first, inserts one fired trigger per fire and advances
	// (interval, cron) or deletes (once) each claimed trigger. A trigger is
	// never claimed by two callers and never fires twice for one scheduled time.
	TriggersAcquireNext(ctx context.Context, p TriggersAcquireNextParams) ([]FiredTrigger, error)
	// TriggersNextFireTime returns the earliest NextFireTime of the unpaused
	// triggers of the groups; ok is false when there is none.
	TriggersNextFireTime(ctx context.Context, p TriggersNextFireTimeParams) (next time.Time, ok bool, err error)

	// FiredTriggersComplete deletes a fired trigger; ErrNotFound when it is gone
	// (another instance recovered this one meanwhile).
	FiredTriggersComplete(ctx context.Context, fireID string) error
	// FiredTriggersList lists the fired triggers, oldest first.
	FiredTriggersList(ctx context.Context) ([]FiredTrigger, error)

	// InstancesCheckIn records that an instance is alive (creating it if needed).
	InstancesCheckIn(ctx context.Context, p InstancesCheckInParams) error
	// InstancesList lists the instances by id.
	InstancesList(ctx context.Context) ([]Instance, error)
	// InstancesRecover removes dead instances and re-fires the jobs they were
	// running: each fired trigger whose job requests recovery becomes a
	// one-shot recovery trigger due Now (one per job); the fired triggers are
	// deleted. One caller wins each dead instance, however many race.
	InstancesRecover(ctx context.Context, p InstancesRecoverParams) (RecoverResult, error)
	// InstancesRemove deregisters an instance on graceful shutdown. While it
	// still owns fired triggers the row stays, so peers recover them once it
	// times out. Removing an unknown instance is a no-op.
	InstancesRemove(ctx context.Context, id string) error

	// Now is the store's clock: the database clock, or the injected clock of a MemoryStore.
	Now(ctx context.Context) (time.Time, error)
}

// toMillis turns a time into unix milliseconds (zero time → 0).
func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis turns unix milliseconds into a UTC time (0 → zero time).
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// utcMillis truncates t to milliseconds in UTC, as the stores keep it.
func utcMillis(t time.Time) time.Time { return fromMillis(toMillis(t)) }
