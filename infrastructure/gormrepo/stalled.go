package gormrepo

import (
	"context"
	"fmt"
	"time"

	"cadre/domain/task"
)

// stalledOf is the stall mark a task row keeps: a mark belongs to one run,
// so every write that takes a task out of RUNNING drops it.
func stalledOf(t *task.Task) *time.Time {
	if t.State != task.Running {
		return nil
	}
	return utcPtr(t.StalledSince)
}

// TasksMarkStalled implements taskmanager.StalledStore: it sets stalled_since
// on a task RUNNING on node, or clears it (since nil) on a task of that node.
// The mark is an observation, not a change of the task: its version stays.
func (r *Repo) TasksMarkStalled(ctx context.Context, oid, node string, since *time.Time) error {
	q := r.db.WithContext(ctx)
	var err error
	if since == nil {
		err = q.Exec("UPDATE tasks SET stalled_since = NULL WHERE oid = ? AND node_id = ?", oid, node).Error
	} else {
		err = q.Exec("UPDATE tasks SET stalled_since = ? WHERE oid = ? AND node_id = ? AND execution_state = ?",
			since.UTC(), oid, node, string(task.Running)).Error
	}
	if err != nil {
		return fmt.Errorf("mark task %s stalled: %w", oid, err)
	}
	return nil
}

// TasksStalled lists the tasks marked stalled, longest stalled first.
func (r *Repo) TasksStalled(ctx context.Context) ([]*task.Task, error) {
	var rows []taskRow
	err := r.db.WithContext(ctx).Where("stalled_since IS NOT NULL AND execution_state = ?", string(task.Running)).
		Order("stalled_since, oid").Limit(100).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list stalled tasks: %w", err)
	}
	ts, _, err := tasksOf(rows, 0)
	return ts, err
}

// TasksRunningPerGroup counts the RUNNING tasks (worker tasks included) per
// node and execution group, for each node's execution limits.
func (r *Repo) TasksRunningPerGroup(ctx context.Context) (map[string]map[string]int64, error) {
	var rows []struct {
		NodeID         string `gorm:"column:node_id"`
		ExecutionGroup string `gorm:"column:execution_group"`
		N              int64
	}
	err := r.db.WithContext(ctx).Raw(`SELECT node_id, execution_group, COUNT(*) AS n FROM tasks
WHERE execution_state = 'RUNNING' GROUP BY node_id, execution_group`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count running tasks per group: %w", err)
	}
	out := map[string]map[string]int64{}
	for _, row := range rows {
		if out[row.NodeID] == nil {
			out[row.NodeID] = map[string]int64{}
		}
		out[row.NodeID][row.ExecutionGroup] += row.N
	}
	return out, nil
}
