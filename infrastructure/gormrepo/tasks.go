package gormrepo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

type taskRow struct {
	OID            string `gorm:"primaryKey;column:oid"`
	Name           string
	Handler        string
	OwnerOID       string `gorm:"column:owner_oid"`
	Params         string
	Schedule       string
	Bucketing      string
	Workers        string
	ExecutionGroup string
	StopAction     string `gorm:"column:thread_stop_action"`
	UniqueKey      string
	ParentOID      string `gorm:"column:parent_oid"`
	Role           string
	ExecutionState string
	ResultStatus   string
	Message        string
	NodeID         string
	ItemsProcessed int64
	Errors         int64
	RunCount       int64
	LastRunStart   *time.Time
	LastRunFinish  *time.Time
	NextRunTime    *time.Time
	StalledSince   *time.Time
	Token          string
	Version        int64
	CreatedAt      time.Time
	ModifiedAt     time.Time
	Retry          string
	Attempts       int64
	LastError      string
	Checkpoint     string
}

func (taskRow) TableName() string { return "tasks" }

func jsonOrEmpty(v any, isNil bool) (string, error) {
	if isNil {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func taskFromDomain(t *task.Task) (taskRow, error) {
	params, err := json.Marshal(t.Params)
	if err != nil {
		return taskRow{}, fmt.Errorf("encode params: %w", err)
	}
	sched, _ := json.Marshal(t.Schedule)
	bucketing, err := jsonOrEmpty(t.Bucketing, t.Bucketing == nil)
	if err != nil {
		return taskRow{}, err
	}
	workers, _ := jsonOrEmpty(t.Workers, t.Workers == nil)
	retrySpec, _ := jsonOrEmpty(t.Retry, t.Retry == nil)
	checkpoint, _ := jsonOrEmpty(t.Checkpoint, t.Checkpoint == nil)
	return taskRow{
		StopAction: string(t.ThreadStopAction), UniqueKey: t.UniqueKey,
		Retry: retrySpec, Attempts: t.Attempts, LastError: t.LastError, Checkpoint: checkpoint,
		OID: t.OID, Name: t.Name, Handler: t.Handler, OwnerOID: t.Owner, Params: string(params), Schedule: string(sched),
		Bucketing: bucketing, Workers: workers, ExecutionGroup: t.ExecutionGroup, ParentOID: t.Parent, Role: string(t.Role),
		ExecutionState: string(t.State), ResultStatus: string(t.Result), Message: t.Message, NodeID: t.Node,
		ItemsProcessed: t.Progress.ItemsProcessed, Errors: t.Progress.Errors, RunCount: t.RunCount,
		LastRunStart: utcPtr(t.LastRunStart), LastRunFinish: utcPtr(t.LastRunFinish), NextRunTime: utcPtr(t.NextRunTime),
		StalledSince: stalledOf(t), Token: t.Token, Version: t.Version, CreatedAt: t.CreatedAt.UTC(), ModifiedAt: t.ModifiedAt.UTC(),
	}, nil
}

func (r taskRow) toDomain() (*task.Task, error) {
	t := &task.Task{
		ThreadStopAction: task.ThreadStopAction(r.StopAction), UniqueKey: r.UniqueKey,
		Attempts: r.Attempts, LastError: r.LastError,
		OID: r.OID, Name: r.Name, Handler: r.Handler, Owner: r.OwnerOID, ExecutionGroup: r.ExecutionGroup, Parent: r.ParentOID,
		Role: task.Role(r.Role), State: task.ExecutionState(r.ExecutionState), Result: task.ResultStatus(r.ResultStatus),
		Message: r.Message, Node: r.NodeID, RunCount: r.RunCount, Token: r.Token, Version: r.Version,
		Progress:     task.Progress{ItemsProcessed: r.ItemsProcessed, Errors: r.Errors},
		LastRunStart: utcPtr(r.LastRunStart), LastRunFinish: utcPtr(r.LastRunFinish), NextRunTime: utcPtr(r.NextRunTime),
		StalledSince: utcPtr(r.StalledSince),
		CreatedAt:    r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC(),
	}
	if err := json.Unmarshal([]byte(r.Params), &t.Params); err != nil {
		return nil, fmt.Errorf("decode params of task %s: %w", r.OID, err)
	}
	if r.Schedule != "" {
		if err := json.Unmarshal([]byte(r.Schedule), &t.Schedule); err != nil {
			return nil, fmt.Errorf("decode schedule of task %s: %w", r.OID, err)
		}
	}
	if r.Bucketing != "" {
		t.Bucketing = &task.Bucketing{}
		if err := json.Unmarshal([]byte(r.Bucketing), t.Bucketing); err != nil {
			return nil, fmt.Errorf("decode bucketing of task %s: %w", r.OID, err)
		}
	}
	if r.Retry != "" {
		t.Retry = &task.Retry{}
		if err := json.Unmarshal([]byte(r.Retry), t.Retry); err != nil {
			return nil, fmt.Errorf("decode retry of task %s: %w", r.OID, err)
		}
	}
	var err error
	if t.Checkpoint, err = decodeCheckpoint(r.Checkpoint); err != nil {
		return nil, fmt.Errorf("decode checkpoint of task %s: %w", r.OID, err)
	}
	if r.Workers != "" {
		t.Workers = &task.Workers{}
		if err := json.Unmarshal([]byte(r.Workers), t.Workers); err != nil {
			return nil, fmt.Errorf("decode workers of task %s: %w", r.OID, err)
		}
	}
	return t, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func translateTask(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return task.ErrNotFound
	}
	return err
}

// TasksAdd stores a new task.
func (r *Repo) TasksAdd(ctx context.Context, t *task.Task) error {
	row, err := taskFromDomain(t)
	if err != nil {
		return err
	}
	return r.withKey(ctx, func() string { return t.UniqueKey }, func() error { return r.db.WithContext(ctx).Create(&row).Error })
}

// TasksGet reads one task.
func (r *Repo) TasksGet(ctx context.Context, oid string) (*task.Task, error) {
	var row taskRow
	if err := r.db.WithContext(ctx).Where("oid = ?", oid).Take(&row).Error; err != nil {
		return nil, translateTask(err)
	}
	return row.toDomain()
}

// TasksList lists tasks in creation order.
func (r *Repo) TasksList(ctx context.Context, f taskmanager.TaskFilter) ([]*task.Task, int64, error) {
	q := r.db.WithContext(ctx).Model(&taskRow{})
	if f.State != "" {
		q = q.Where("execution_state = ?", string(f.State))
	}
	if f.Handler != "" {
		q = q.Where("handler = ?", f.Handler)
	}
	if f.Parent != "" {
		q = q.Where("parent_oid = ?", f.Parent)
	} else if f.TopLevel {
		q = q.Where("parent_oid = ''")
	}
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, err
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 100
	}
	var rows []taskRow
	if err := q.Session(&gorm.Session{}).Order("created_at DESC, oid").Limit(limit).Offset(max(0, f.Offset)).Find(&rows).Error; err != nil {
		return nil, 0, err
	}
	return tasksOf(rows, total)
}

func tasksOf(rows []taskRow, total int64) ([]*task.Task, int64, error) {
	out := make([]*task.Task, 0, len(rows))
	for _, row := range rows {
		t, err := row.toDomain()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, nil
}

// TasksUpdate applies change under a row lock (PostgreSQL FOR UPDATE; SQLite
// transactions are BEGIN IMMEDIATE) and bumps the version. A change that
// reopens a task whose unique key another open task holds (run now on a
// closed task) is refused with a *task.DuplicateKeyError.
func (r *Repo) TasksUpdate(ctx context.Context, oid string, change func(*task.Task) error) (*task.Task, error) {
	var out *task.Task
	var key string
	err := r.withKey(ctx, func() string { return key }, func() (err error) {
		out, err = r.updateTask(ctx, oid, func(t *task.Task) error {
			key = t.UniqueKey
			return change(t)
		})
		return err
	})
	return out, err
}

// updateTask is TasksUpdate without the unique key's error.
func (r *Repo) updateTask(ctx context.Context, oid string, change func(*task.Task) error) (*task.Task, error) {
	var out *task.Task
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := r.drv.lockForUpdate(tx.Where("oid = ?", oid))
		var row taskRow
		if err := q.Take(&row).Error; err != nil {
			return translateTask(err)
		}
		t, err := row.toDomain()
		if err != nil {
			return err
		}
		if err := change(t); err != nil {
			return err
		}
		t.Version = row.Version + 1
		t.ModifiedAt = time.Now().UTC()
		next, err := taskFromDomain(t)
		if err != nil {
			return err
		}
		if err := tx.Select("*").Omit("created_at").Save(&next).Error; err != nil {
			return err
		}
		out = t
		return nil
	})
	return out, err
}

// TasksDelete removes a task and (by cascade) its buckets.
func (r *Repo) TasksDelete(ctx context.Context, oid string) error {
	return r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM buckets WHERE task_oid = ?", oid).Error; err != nil {
			return err
		}
		res := tx.Where("oid = ?", oid).Delete(&taskRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return task.ErrNotFound
		}
		return nil
	})
}

// TasksAddProgress increments progress counters atomically.
func (r *Repo) TasksAddProgress(ctx context.Context, oid string, items, errs int64) error {
	if items == 0 && errs == 0 {
		return nil
	}
	return r.db.WithContext(ctx).Exec("UPDATE tasks SET items_processed = items_processed + ?, errors = errors + ? WHERE oid = ?", items, errs, oid).Error
}

// TasksCheckpoint records a standalone run's checkpoint and adds the items
// done since the previous one to the task's progress, in one statement
// fenced by the run (RUNNING on the node, at its run count).
func (r *Repo) TasksCheckpoint(ctx context.Context, c taskmanager.TaskCheckpoint) (bool, error) {
	data, err := json.Marshal(c.Checkpoint)
	if err != nil {
		return false, fmt.Errorf("encode checkpoint: %w", err)
	}
	res := r.db.WithContext(ctx).Exec(`UPDATE tasks SET checkpoint = ?, items_processed = items_processed + ?, errors = errors + ?
WHERE oid = ? AND execution_state = ? AND node_id = ? AND run_count = ?`,
		string(data), c.Items, c.Errors, c.OID, string(task.Running), c.Node, c.RunCount)
	if res.Error != nil {
		return false, fmt.Errorf("checkpoint task %s: %w", c.OID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// TasksRunningOn lists RUNNING tasks on a node.
func (r *Repo) TasksRunningOn(ctx context.Context, node string) ([]*task.Task, error) {
	var rows []taskRow
	if err := r.db.WithContext(ctx).Where("execution_state = ? AND node_id = ?", string(task.Running), node).Find(&rows).Error; err != nil {
		return nil, err
	}
	ts, _, err := tasksOf(rows, 0)
	return ts, err
}

// TasksWaitingCoordinators lists WAITING coordinators.
func (r *Repo) TasksWaitingCoordinators(ctx context.Context) ([]*task.Task, error) {
	var rows []taskRow
	if err := r.db.WithContext(ctx).Where("execution_state = ? AND role = ?", string(task.Waiting), string(task.Coordinator)).Find(&rows).Error; err != nil {
		return nil, err
	}
	ts, _, err := tasksOf(rows, 0)
	return ts, err
}

// DeleteClosedTasksBefore deletes top-level CLOSED tasks that finished before
// t, with their workers and buckets, and returns how many top-level tasks went.
func (r *Repo) DeleteClosedTasksBefore(ctx context.Context, t time.Time) (int64, error) {
	var oids []string
	err := r.db.WithContext(ctx).Model(&taskRow{}).
		Where("parent_oid = '' AND execution_state = ? AND last_run_finish < ?", string(task.Closed), t.UTC()).
		Pluck("oid", &oids).Error
	if err != nil || len(oids) == 0 {
		return 0, err
	}
	err = r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, q := range []string{
			"DELETE FROM buckets WHERE task_oid IN ?",
			"DELETE FROM buckets WHERE task_oid IN (SELECT oid FROM tasks WHERE parent_oid IN ?)",
			"DELETE FROM tasks WHERE parent_oid IN ?",
			"DELETE FROM tasks WHERE oid IN ?",
		} {
			if err := tx.Exec(q, oids).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return int64(len(oids)), err
}

// TasksRunnableWorkersIn lists RUNNABLE workers pinned to an execution group.
func (r *Repo) TasksRunnableWorkersIn(ctx context.Context, group string) ([]*task.Task, error) {
	var rows []taskRow
	err := r.db.WithContext(ctx).Where("execution_state = ? AND role = ? AND execution_group = ?",
		string(task.Runnable), string(task.Worker), group).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	ts, _, err := tasksOf(rows, 0)
	return ts, err
}

// TasksRunningHere reports which of oids are RUNNING on node, in one query.
func (r *Repo) TasksRunningHere(ctx context.Context, node string, oids []string) (map[string]bool, error) {
	var found []string
	err := r.db.WithContext(ctx).Model(&taskRow{}).
		Where("oid IN ? AND execution_state = ? AND node_id = ?", oids, string(task.Running), node).
		Pluck("oid", &found).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(found))
	for _, oid := range found {
		out[oid] = true
	}
	return out, nil
}
