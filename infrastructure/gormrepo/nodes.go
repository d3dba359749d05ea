package gormrepo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"cadre/domain/cluster"
	"cadre/domain/task"
)

type nodeRow struct {
	NodeID           string `gorm:"primaryKey;column:node_id"`
	InternalID       string
	Hostname         string
	HTTPPort         int
	URL              string `gorm:"column:url"`
	URLOverride      string `gorm:"column:url_override"`
	Clustered        bool
	Version          string
	SchemaVersion    int
	OperationalState string
	SchedulerState   string
	ErrorReason      string
	ExecutionGroups  string
	ExecutionLimits  string
	Secret           string
	LastCheckIn      time.Time
	StartedAt        time.Time
	NodeTimeoutMs    int64 `gorm:"column:node_timeout_ms"`
	LivenessLock     int64
	SharedSettings   string
}

func (nodeRow) TableName() string { return "nodes" }

func nodeFromDomain(n *cluster.Node) nodeRow {
	return nodeRow{NodeID: n.ID, InternalID: n.InternalID, Hostname: n.Hostname, HTTPPort: n.HTTPPort, URL: n.URL,
		URLOverride: n.URLOverride, Clustered: n.Clustered, Version: n.Version, SchemaVersion: n.SchemaVersion,
		OperationalState: string(n.OperationalState), SchedulerState: string(n.SchedulerState), ErrorReason: n.ErrorReason,
		ExecutionGroups: strings.Join(n.ExecutionGroups, ","), ExecutionLimits: task.FormatLimits(n.ExecutionLimits), Secret: n.Secret, LastCheckIn: n.LastCheckIn.UTC(), StartedAt: n.StartedAt.UTC(),
		NodeTimeoutMs: n.Timeout.Milliseconds(), LivenessLock: n.LivenessLock, SharedSettings: encodeSettings(n.Settings)}
}

// encodeSettings writes settings as sorted name=value lines.
func encodeSettings(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	return b.String()
}

func decodeSettings(s string) map[string]string {
	if s == "" {
		return nil
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

func (r nodeRow) toDomain() *cluster.Node {
	n := &cluster.Node{ID: r.NodeID, InternalID: r.InternalID, Hostname: r.Hostname, HTTPPort: r.HTTPPort, URL: r.URL,
		URLOverride: r.URLOverride, Clustered: r.Clustered, Version: r.Version, SchemaVersion: r.SchemaVersion,
		OperationalState: cluster.OperationalState(r.OperationalState), SchedulerState: cluster.SchedulerState(r.SchedulerState),
		ErrorReason: r.ErrorReason, Secret: r.Secret, LastCheckIn: r.LastCheckIn.UTC(), StartedAt: r.StartedAt.UTC(),
		Timeout: time.Duration(r.NodeTimeoutMs) * time.Millisecond, LivenessLock: r.LivenessLock, Settings: decodeSettings(r.SharedSettings)}
	if r.ExecutionGroups != "" {
		n.ExecutionGroups = strings.Split(r.ExecutionGroups, ",")
	}
	// A row written by an older version has none; a row this version wrote
	// always parses.
	n.ExecutionLimits, _ = task.ParseLimits(r.ExecutionLimits)
	return n
}

// Now reads the database clock.
func (r *Repo) Now(ctx context.Context) (time.Time, error) { return r.db.Now(ctx) }

// NodesList lists every node row.
func (r *Repo) NodesList(ctx context.Context) ([]*cluster.Node, error) {
	var rows []nodeRow
	if err := r.db.WithContext(ctx).Order("node_id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]*cluster.Node, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, nil
}

// NodesGet reads one node row.
func (r *Repo) NodesGet(ctx context.Context, id string) (*cluster.Node, error) {
	var row nodeRow
	err := r.db.WithContext(ctx).Where("node_id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, cluster.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return row.toDomain(), nil
}

// NodesRegister judges and writes a starting node under a lock on its row.
func (r *Repo) NodesRegister(ctx context.Context, n *cluster.Node, judge func(existing *cluster.Node, others []*cluster.Node, now time.Time) error) error {
	return r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := r.drv.lockRegistrations(tx); err != nil {
			return err
		}
		now, err := r.drv.now(tx)
		if err != nil {
			return err
		}
		var rows []nodeRow
		if err := r.drv.lockForUpdate(tx.Order("node_id")).Find(&rows).Error; err != nil {
			return err
		}
		var existing *cluster.Node
		others := make([]*cluster.Node, 0, len(rows))
		for _, row := range rows {
			if row.NodeID == n.ID {
				existing = row.toDomain()
				continue
			}
			others = append(others, row.toDomain())
		}
		if err := judge(existing, others, now); err != nil {
			return err
		}
		if existing != nil {
			if existing.Secret != "" {
				n.Secret = existing.Secret
			}
			if n.URLOverride == "" {
				n.URLOverride = existing.URLOverride
			}
		}
		n.LastCheckIn, n.StartedAt = now, now
		row := nodeFromDomain(n)
		return tx.Save(&row).Error
	})
}

// PriorityConn is a connection outside the pool (a node's PostgreSQL
// session connection) that runs one statement ahead of other work.
type PriorityConn interface {
	// QueryRow runs query with args and scans its one row into dest; ok is
	// false, with nothing run, when the connection is not there right now.
	QueryRow(ctx context.Context, query string, args []any, dest ...any) (ok bool, err error)
}

// CheckInOn makes NodesCheckIn run on c (PostgreSQL only) whenever c is
// connected, so a check-in never queues behind bulk statements in the pool
// (creating a million buckets holds a pool connection for seconds, and a
// small pool is often all taken); it falls back to the pool while c is not
// connected.
func (r *Repo) CheckInOn(c PriorityConn) {
	if _, ok := r.drv.(postgresDriver); ok {
		r.checkInConn = c
	}
}

// NodesCheckIn writes the node's state with last check-in = database now,
// through the driver's explicit SQL, and reads whether peers had marked the
// node DOWN.
func (r *Repo) NodesCheckIn(ctx context.Context, n *cluster.Node) (bool, error) {
	sqlDB, err := r.db.DB.DB()
	if err != nil {
		return false, err
	}
	args := []any{string(cluster.Up), string(n.SchedulerState), n.ErrorReason, n.URL, n.Hostname, n.HTTPPort,
		n.Timeout.Milliseconds(), n.LivenessLock, encodeSettings(n.Settings), n.ID, n.InternalID}
	var previous string
	var now time.Time
	onSession := false
	if r.checkInConn != nil {
		onSession, err = r.checkInConn.QueryRow(ctx, pgCheckInSQL, args, &previous, &now)
	}
	if !onSession {
		previous, now, err = r.drv.checkIn(ctx, sqlDB, args)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return false, cluster.ErrTakenOver // the row is gone or belongs to another instance
	}
	if err != nil {
		return false, fmt.Errorf("check in node %s: %w", n.ID, err)
	}
	n.LastCheckIn, n.OperationalState = now.UTC(), cluster.Up
	return previous == string(cluster.Down), nil
}

// NodesMarkDown flips a silent node to DOWN; only one caller wins.
func (r *Repo) NodesMarkDown(ctx context.Context, id string, deadBefore time.Time) (bool, error) {
	res := r.db.WithContext(ctx).Exec("UPDATE nodes SET operational_state = ? WHERE node_id = ? AND operational_state <> ? AND last_check_in < ?",
		string(cluster.Down), id, string(cluster.Down), deadBefore.UTC())
	return res.RowsAffected == 1, res.Error
}

// NodesMarkCrashed flips the row of a crashed instance to DOWN, only while
// it still belongs to internalID; only one caller wins.
func (r *Repo) NodesMarkCrashed(ctx context.Context, id, internalID string) (bool, error) {
	res := r.db.WithContext(ctx).Exec("UPDATE nodes SET operational_state = ? WHERE node_id = ? AND internal_id = ? AND operational_state <> ?",
		string(cluster.Down), id, internalID, string(cluster.Down))
	return res.RowsAffected == 1, res.Error
}

// NodesSetURLOverride writes a node's urlOverride ("" clears it).
func (r *Repo) NodesSetURLOverride(ctx context.Context, id, override string) error {
	res := r.db.WithContext(ctx).Exec("UPDATE nodes SET url_override = ? WHERE node_id = ?", override, id)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%w: %s", cluster.ErrNotFound, id)
	}
	return nil
}

// NodesSetDown marks this instance's row DOWN.
func (r *Repo) NodesSetDown(ctx context.Context, id, internalID string) error {
	return r.db.WithContext(ctx).Exec("UPDATE nodes SET operational_state = ? WHERE node_id = ? AND internal_id = ?",
		string(cluster.Down), id, internalID).Error
}

// NodesDeleteDownFor deletes the nodes DOWN whose last check-in is older
// than olderThan by the database clock, and returns their ids.
func (r *Repo) NodesDeleteDownFor(ctx context.Context, olderThan time.Duration) ([]string, error) {
	now, err := r.db.Now(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	err = r.db.WithContext(ctx).Raw("DELETE FROM nodes WHERE operational_state = ? AND last_check_in < ? RETURNING node_id",
		string(cluster.Down), now.Add(-olderThan).UTC()).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("delete dead nodes: %w", err)
	}
	sort.Strings(ids)
	return ids, nil
}

// NodesDelete removes a node row.
func (r *Repo) NodesDelete(ctx context.Context, id string) error {
	return r.db.WithContext(ctx).Where("node_id = ?", id).Delete(&nodeRow{}).Error
}
