package quartzstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// SQLStore is a Store on SQLite or PostgreSQL, shared by every instance that
// opens the same database. Claims are atomic: PostgreSQL locks rows with
// FOR UPDATE SKIP LOCKED (no global lock row); SQLite runs each claim in one
// BEGIN IMMEDIATE transaction (the caller opens SQLite so that every
// transaction is immediate, see NewSQLStore).
type SQLStore struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect Dialect
	// listenDSN is the PostgreSQL connection string TriggersListen dials.
	listenDSN string
	// listen subscribes on a connection the caller owns (SQLOptions.Listen).
	listen func(ctx context.Context, channel string, notify func(payload string)) error
	// count is called once per statement sent; never nil.
	count func()
}

var _ Store = (*SQLStore)(nil)

// Now reads the database clock (UTC). SQLite runs in this process, so its
// clock is the host clock.
func (s *SQLStore) Now(ctx context.Context) (time.Time, error) {
	if s.dialect != Postgres {
		return time.Now().UTC(), nil
	}
	var t time.Time
	if err := s.sqlDB.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("read database clock: %w", err)
	}
	s.count()
	return t.UTC(), nil
}

// Persistence rows; they never leave this file.

type jobRow struct {
	JobKey          string
	ExecGroup       string
	RequestRecovery bool
	Data            string
}

func (r jobRow) toJob() (Job, error) {
	data, err := decodeData(r.Data)
	return Job{Key: r.JobKey, Group: r.ExecGroup, RequestRecovery: r.RequestRecovery, Data: data}, err
}

type triggerRow struct {
	TriggerKey   string
	JobKey       string
	Kind         string
	IntervalMs   int64
	Cron         string
	Misfire      string
	ExecGroup    string
	NextFireTime int64
	PrevFireTime int64
	Paused       bool
	Recovering   bool
	Version      int64
}

func (r triggerRow) toTrigger() Trigger {
	return Trigger{
		Key: r.TriggerKey, JobKey: r.JobKey, Kind: TriggerKind(r.Kind),
		Interval: time.Duration(r.IntervalMs) * time.Millisecond, Cron: r.Cron,
		Misfire: MisfirePolicy(r.Misfire), Group: r.ExecGroup,
		NextFireTime: fromMillis(r.NextFireTime), PrevFireTime: fromMillis(r.PrevFireTime),
		Paused: r.Paused, Recovering: r.Recovering,
	}
}

type firedRow struct {
	FireID        string
	TriggerKey    string
	JobKey        string
	ExecGroup     string
	InstanceID    string
	ScheduledTime int64
	FiredTime     int64
	Recovering    bool
	Data          string
}

func (r firedRow) toFired() (FiredTrigger, error) {
	data, err := decodeData(r.Data)
	return FiredTrigger{
		FireID: r.FireID, TriggerKey: r.TriggerKey, JobKey: r.JobKey, Group: r.ExecGroup,
		InstanceID: r.InstanceID, ScheduledTime: fromMillis(r.ScheduledTime), FiredTime: fromMillis(r.FiredTime),
		Recovering: r.Recovering, Data: data,
	}, err
}

type instanceRow struct {
	InstanceID  string
	LastCheckin int64
	IntervalMs  int64
}

func encodeData(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeData(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode job data: %w", err)
	}
	return m, nil
}

func (s *SQLStore) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// JobsUpsert implements Store.
func (s *SQLStore) JobsUpsert(ctx context.Context, job Job) error {
	if job.Key == "" {
		return errors.New("upsert job: empty key")
	}
	data, err := encodeData(job.Data)
	if err != nil {
		return fmt.Errorf("upsert job %q: %w", job.Key, err)
	}
	err = s.tx(ctx, func(tx *gorm.DB) error { return upsertJob(tx, job, data) })
	if err != nil {
		return fmt.Errorf("upsert job %q: %w", job.Key, err)
	}
	return nil
}

// upsertJob writes a job and moves its triggers to its group.
func upsertJob(tx *gorm.DB, job Job, data string) error {
	err := tx.Exec(`INSERT INTO qrtz_jobs (job_key, exec_group, request_recovery, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (job_key) DO UPDATE SET exec_group = EXCLUDED.exec_group,
			request_recovery = EXCLUDED.request_recovery, data = EXCLUDED.data`,
		job.Key, job.Group, job.RequestRecovery, data).Error
	if err != nil {
		return err
	}
	return tx.Exec(`UPDATE qrtz_triggers SET exec_group = ?, version = version + 1 WHERE job_key = ? AND exec_group <> ?`,
		job.Group, job.Key, job.Group).Error
}

// JobsSchedule implements Store: the job and its trigger in one transaction.
func (s *SQLStore) JobsSchedule(ctx context.Context, job Job, t Trigger) error {
	if job.Key == "" {
		return errors.New("schedule job: empty key")
	}
	data, err := encodeData(job.Data)
	if err != nil {
		return fmt.Errorf("schedule job %q: %w", job.Key, err)
	}
	t.JobKey = job.Key
	var now time.Time
	if t.NextFireTime.IsZero() {
		if now, err = s.Now(ctx); err != nil {
			return err
		}
	}
	if t, err = validateTrigger(t, now); err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := upsertJob(tx, job, data); err != nil {
			return err
		}
		return s.upsertTrigger(tx, t, job.Group)
	})
	if err != nil {
		return fmt.Errorf("schedule job %q: %w", job.Key, err)
	}
	return nil
}

// JobsGet implements Store.
func (s *SQLStore) JobsGet(ctx context.Context, key string) (Job, error) {
	var rows []jobRow
	if err := s.db.WithContext(ctx).Raw(`SELECT * FROM qrtz_jobs WHERE job_key = ?`, key).Scan(&rows).Error; err != nil {
		return Job{}, fmt.Errorf("get job %q: %w", key, err)
	}
	if len(rows) == 0 {
		return Job{}, fmt.Errorf("job %q: %w", key, ErrNotFound)
	}
	return rows[0].toJob()
}

// JobsDelete implements Store.
func (s *SQLStore) JobsDelete(ctx context.Context, key string) error {
	var n int64
	// The job row first, then its triggers: the order in which upsertJob
	// and JobsSchedule lock them. The other order deadlocked with a task
	// being rescheduled at the moment it was suspended.
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM qrtz_jobs WHERE job_key = ?`, key)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		// ON DELETE CASCADE has removed them where foreign keys are enforced
		// (a SQLite connection may not enforce them).
		return tx.Exec(`DELETE FROM qrtz_triggers WHERE job_key = ?`, key).Error
	})
	if err != nil {
		return fmt.Errorf("delete job %q: %w", key, err)
	}
	if n == 0 {
		return fmt.Errorf("job %q: %w", key, ErrNotFound)
	}
	return nil
}

// TriggersUpsert implements Store.
func (s *SQLStore) TriggersUpsert(ctx context.Context, t Trigger) error {
	var now time.Time
	if t.NextFireTime.IsZero() {
		var err error
		if now, err = s.Now(ctx); err != nil {
			return err
		}
	}
	t, err := validateTrigger(t, now)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var groups []string
		// Read under a key-share lock on PostgreSQL, so this transaction
		// holds the job before its trigger as JobsDelete does (no deadlock).
		if err := tx.Raw(`SELECT exec_group FROM qrtz_jobs WHERE job_key = ?`+s.keyShare(), t.JobKey).Scan(&groups).Error; err != nil {
			return err
		}
		if len(groups) == 0 {
			return fmt.Errorf("job %q: %w", t.JobKey, ErrNotFound)
		}
		return s.upsertTrigger(tx, t, groups[0])
	})
	if err != nil {
		return fmt.Errorf("upsert trigger %q: %w", t.Key, err)
	}
	return nil
}

// keyShare is the locking clause that holds a job row against deletion
// while its triggers are written ("" on SQLite, which has one writer).
func (s *SQLStore) keyShare() string {
	if s.dialect == Postgres {
		return " FOR KEY SHARE"
	}
	return ""
}

// upsertTrigger writes a validated trigger in its job's group and, on
// PostgreSQL, notifies every listening scheduler when the transaction commits.
func (s *SQLStore) upsertTrigger(tx *gorm.DB, t Trigger, group string) error {
	if err := tx.Exec(`INSERT INTO qrtz_triggers (trigger_key, job_key, kind, interval_ms, cron, misfire, exec_group,
			next_fire_time, prev_fire_time, paused, recovering, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (trigger_key) DO UPDATE SET job_key = EXCLUDED.job_key, kind = EXCLUDED.kind,
			interval_ms = EXCLUDED.interval_ms, cron = EXCLUDED.cron, misfire = EXCLUDED.misfire,
			exec_group = EXCLUDED.exec_group, next_fire_time = EXCLUDED.next_fire_time,
			prev_fire_time = EXCLUDED.prev_fire_time, paused = EXCLUDED.paused,
			recovering = EXCLUDED.recovering, version = qrtz_triggers.version + 1`,
		t.Key, t.JobKey, string(t.Kind), t.Interval.Milliseconds(), t.Cron, string(t.Misfire), group,
		toMillis(t.NextFireTime), toMillis(t.PrevFireTime), t.Paused, t.Recovering).Error; err != nil {
		return err
	}
	if q := s.notifySQL(); q != "" && !t.Paused {
		return tx.Exec(q, group).Error
	}
	return nil
}

// TriggersGet implements Store.
func (s *SQLStore) TriggersGet(ctx context.Context, key string) (Trigger, error) {
	var rows []triggerRow
	if err := s.db.WithContext(ctx).Raw(`SELECT * FROM qrtz_triggers WHERE trigger_key = ?`, key).Scan(&rows).Error; err != nil {
		return Trigger{}, fmt.Errorf("get trigger %q: %w", key, err)
	}
	if len(rows) == 0 {
		return Trigger{}, fmt.Errorf("trigger %q: %w", key, ErrNotFound)
	}
	return rows[0].toTrigger(), nil
}

// TriggersDelete implements Store.
func (s *SQLStore) TriggersDelete(ctx context.Context, key string) error {
	return s.execOne(ctx, "delete trigger", key, `DELETE FROM qrtz_triggers WHERE trigger_key = ?`, key)
}

// execOne runs a statement that must touch one row of the trigger key.
func (s *SQLStore) execOne(ctx context.Context, what, key, query string, args ...any) error {
	res := s.db.WithContext(ctx).Exec(query, args...)
	if res.Error != nil {
		return fmt.Errorf("%s %q: %w", what, key, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("trigger %q: %w", key, ErrNotFound)
	}
	return nil
}

// TriggersListByJob implements Store.
func (s *SQLStore) TriggersListByJob(ctx context.Context, jobKey string) ([]Trigger, error) {
	var rows []triggerRow
	err := s.db.WithContext(ctx).Raw(`SELECT * FROM qrtz_triggers WHERE job_key = ? ORDER BY trigger_key`, jobKey).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list triggers of job %q: %w", jobKey, err)
	}
	out := make([]Trigger, len(rows))
	for i, r := range rows {
		out[i] = r.toTrigger()
	}
	return out, nil
}

// TriggersPause implements Store.
func (s *SQLStore) TriggersPause(ctx context.Context, key string) error {
	return s.execOne(ctx, "pause trigger", key,
		`UPDATE qrtz_triggers SET paused = ?, version = version + 1 WHERE trigger_key = ?`, true, key)
}

// TriggersResume implements Store.
func (s *SQLStore) TriggersResume(ctx context.Context, key string) error {
	return s.execOne(ctx, "resume trigger", key,
		`UPDATE qrtz_triggers SET paused = ?, version = version + 1 WHERE trigger_key = ?`, false, key)
}

// groupFilter returns the SQL condition and arguments for a groups list.
func groupFilter(groups []string) (string, []any) {
	switch {
	case groups == nil:
		return "", nil
	case len(groups) == 0:
		return " AND 1 = 0", nil
	}
	return " AND exec_group IN ?", []any{groups}
}

// loadJobs reads jobs by key.
func loadJobs(tx *gorm.DB, keys []string) (map[string]jobRow, error) {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var rows []jobRow
	if err := tx.Raw(`SELECT * FROM qrtz_jobs WHERE job_key IN ?`, keys).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load jobs: %w", err)
	}
	jobs := make(map[string]jobRow, len(rows))
	for _, r := range rows {
		jobs[r.JobKey] = r
	}
	return jobs, nil
}

// TriggersNextFireTime implements Store.
func (s *SQLStore) TriggersNextFireTime(ctx context.Context, p TriggersNextFireTimeParams) (time.Time, bool, error) {
	gcond, gargs := groupFilter(p.Groups)
	var next *int64
	err := s.db.WithContext(ctx).Raw(`SELECT MIN(next_fire_time) FROM qrtz_triggers WHERE paused = ?`+gcond,
		append([]any{false}, gargs...)...).Scan(&next).Error
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next fire time: %w", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return fromMillis(*next), true, nil
}

// FiredTriggersComplete implements Store.
func (s *SQLStore) FiredTriggersComplete(ctx context.Context, fireID string) error {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM qrtz_fired_triggers WHERE fire_id = ?`, fireID)
	if res.Error != nil {
		return fmt.Errorf("complete fired trigger %q: %w", fireID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("fired trigger %q: %w", fireID, ErrNotFound)
	}
	return nil
}

// FiredTriggersList implements Store.
func (s *SQLStore) FiredTriggersList(ctx context.Context) ([]FiredTrigger, error) {
	var rows []firedRow
	if err := s.db.WithContext(ctx).Raw(`SELECT * FROM qrtz_fired_triggers ORDER BY fired_time, fire_id`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list fired triggers: %w", err)
	}
	return firedRows(rows)
}

func firedRows(rows []firedRow) ([]FiredTrigger, error) {
	out := make([]FiredTrigger, len(rows))
	for i, r := range rows {
		f, err := r.toFired()
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// InstancesCheckIn implements Store.
func (s *SQLStore) InstancesCheckIn(ctx context.Context, p InstancesCheckInParams) error {
	if p.ID == "" {
		return errors.New("check in: empty instance id")
	}
	err := s.db.WithContext(ctx).Exec(`INSERT INTO qrtz_instances (instance_id, last_checkin, interval_ms) VALUES (?, ?, ?)
		ON CONFLICT (instance_id) DO UPDATE SET last_checkin = EXCLUDED.last_checkin, interval_ms = EXCLUDED.interval_ms`,
		p.ID, toMillis(p.Now), p.Interval.Milliseconds()).Error
	if err != nil {
		return fmt.Errorf("check in %q: %w", p.ID, err)
	}
	return nil
}

// InstancesList implements Store.
func (s *SQLStore) InstancesList(ctx context.Context) ([]Instance, error) {
	var rows []instanceRow
	if err := s.db.WithContext(ctx).Raw(`SELECT * FROM qrtz_instances ORDER BY instance_id`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	out := make([]Instance, len(rows))
	for i, r := range rows {
		out[i] = Instance{ID: r.InstanceID, LastCheckIn: fromMillis(r.LastCheckin), Interval: time.Duration(r.IntervalMs) * time.Millisecond}
	}
	return out, nil
}

// InstancesRecover implements Store. In one transaction it locks the dead
// instance rows (PostgreSQL: FOR UPDATE SKIP LOCKED, so a concurrent recoverer
// skips them; SQLite: the transaction is BEGIN IMMEDIATE), deletes them, then
// locks and deletes the fired triggers left without a live instance and
// inserts the recovery triggers.
func (s *SQLStore) InstancesRecover(ctx context.Context, p InstancesRecoverParams) (RecoverResult, error) {
	var res RecoverResult
	if p.Timeout <= 0 {
		return res, nil
	}
	now := utcMillis(p.Now)
	cutoff := toMillis(now.Add(-p.Timeout))
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res = RecoverResult{}
		var dead []string
		err := tx.Raw(`SELECT instance_id FROM qrtz_instances WHERE instance_id <> ? AND last_checkin < ?
			ORDER BY instance_id`+s.rowLock(), p.Self, cutoff).Scan(&dead).Error
		if err != nil {
			return fmt.Errorf("find dead instances: %w", err)
		}
		if len(dead) > 0 {
			if err := tx.Exec(`DELETE FROM qrtz_instances WHERE instance_id IN ?`, dead).Error; err != nil {
				return fmt.Errorf("delete dead instances: %w", err)
			}
			res.InstanceIDs = dead
		}
		// Fired triggers without a live instance: those of the instances just
		// removed, and orphans older than the timeout.
		which, args := ` AND f.fired_time < ?`, []any{p.Self, cutoff}
		if len(dead) > 0 {
			which, args = ` AND (f.instance_id IN ? OR f.fired_time < ?)`, []any{p.Self, dead, cutoff}
		}
		var lost []firedRow
		err = tx.Raw(`SELECT * FROM qrtz_fired_triggers f WHERE f.instance_id <> ?
				AND NOT EXISTS (SELECT 1 FROM qrtz_instances i WHERE i.instance_id = f.instance_id)`+which+`
			ORDER BY f.fired_time, f.fire_id`+s.rowLock(), args...).Scan(&lost).Error
		if err != nil {
			return fmt.Errorf("find lost fired triggers: %w", err)
		}
		if len(lost) == 0 {
			return nil
		}
		ids := make([]string, len(lost))
		for i, f := range lost {
			ids[i] = f.FireID
		}
		if err := tx.Exec(`DELETE FROM qrtz_fired_triggers WHERE fire_id IN ?`, ids).Error; err != nil {
			return fmt.Errorf("delete lost fired triggers: %w", err)
		}
		keys := make([]string, len(lost))
		for i, f := range lost {
			keys[i] = f.JobKey
		}
		jobs, err := loadJobs(tx, keys)
		if err != nil {
			return err
		}
		for _, f := range lost {
			j, ok := jobs[f.JobKey]
			if !ok || !j.RequestRecovery {
				continue
			}
			r := tx.Exec(`INSERT INTO qrtz_triggers (trigger_key, job_key, kind, interval_ms, cron, misfire, exec_group,
					next_fire_time, prev_fire_time, paused, recovering, version)
				VALUES (?, ?, ?, 0, '', ?, ?, ?, 0, ?, ?, 0) ON CONFLICT (trigger_key) DO NOTHING`,
				recoveryTriggerKey(j.JobKey), j.JobKey, string(KindOnce), string(MisfireFireNow), j.ExecGroup,
				toMillis(now), false, true)
			if r.Error != nil {
				return fmt.Errorf("create recovery trigger for job %q: %w", j.JobKey, r.Error)
			}
			if r.RowsAffected > 0 {
				res.JobKeys = append(res.JobKeys, j.JobKey)
			}
		}
		return nil
	})
	if err != nil {
		return RecoverResult{}, fmt.Errorf("recover instances: %w", err)
	}
	return res, nil
}

// InstancesRemove implements Store.
func (s *SQLStore) InstancesRemove(ctx context.Context, id string) error {
	err := s.db.WithContext(ctx).Exec(`DELETE FROM qrtz_instances WHERE instance_id = ?
		AND NOT EXISTS (SELECT 1 FROM qrtz_fired_triggers WHERE instance_id = ?)`, id, id).Error
	if err != nil {
		return fmt.Errorf("remove instance %q: %w", id, err)
	}
	return nil
}
