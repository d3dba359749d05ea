package gormrepo

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"cadre/db"
	"cadre/domain/cluster"
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
	Secret           string
	LastCheckIn      time.Time
	StartedAt        time.Time
}

func (nodeRow) TableName() string { return "nodes" }

func nodeFromDomain(n *cluster.Node) nodeRow {
	return nodeRow{NodeID: n.ID, InternalID: n.InternalID, Hostname: n.Hostname, HTTPPort: n.HTTPPort, URL: n.URL,
		URLOverride: n.URLOverride, Clustered: n.Clustered, Version: n.Version, SchemaVersion: n.SchemaVersion,
		OperationalState: string(n.OperationalState), SchedulerState: string(n.SchedulerState), ErrorReason: n.ErrorReason,
		ExecutionGroups: strings.Join(n.ExecutionGroups, ","), Secret: n.Secret, LastCheckIn: n.LastCheckIn.UTC(), StartedAt: n.StartedAt.UTC()}
}

func (r nodeRow) toDomain() *cluster.Node {
	n := &cluster.Node{ID: r.NodeID, InternalID: r.InternalID, Hostname: r.Hostname, HTTPPort: r.HTTPPort, URL: r.URL,
		URLOverride: r.URLOverride, Clustered: r.Clustered, Version: r.Version, SchemaVersion: r.SchemaVersion,
		OperationalState: cluster.OperationalState(r.OperationalState), SchedulerState: cluster.SchedulerState(r.SchedulerState),
		ErrorReason: r.ErrorReason, Secret: r.Secret, LastCheckIn: r.LastCheckIn.UTC(), StartedAt: r.StartedAt.UTC()}
	if r.ExecutionGroups != "" {
		n.ExecutionGroups = strings.Split(r.ExecutionGroups, ",")
	}
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
		if r.db.Dialect == db.Postgres {
			// Serialise registrations so two nodes starting at once judge each other.
			if err := tx.Exec("SELECT pg_advisory_xact_lock(4243)").Error; err != nil {
				return err
			}
		}
		now, err := txNow(tx, r.db.Dialect)
		if err != nil {
			return err
		}
		var rows []nodeRow
		q := tx.Order("node_id")
		if r.db.Dialect == db.Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Find(&rows).Error; err != nil {
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

func txNow(tx *gorm.DB, d db.Dialect) (time.Time, error) {
	if d == db.SQLite {
		return time.Now().UTC(), nil
	}
	var t time.Time
	err := tx.Raw("SELECT clock_timestamp()").Scan(&t).Error
	return t.UTC(), err
}

// NodesCheckIn writes the node's state with last check-in = database now.
func (r *Repo) NodesCheckIn(ctx context.Context, n *cluster.Node) (bool, error) {
	wasDown := false
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("node_id = ?", n.ID)
		if r.db.Dialect == db.Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var row nodeRow
		if err := q.Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return cluster.ErrTakenOver
			}
			return err
		}
		if row.InternalID != n.InternalID {
			return cluster.ErrTakenOver
		}
		wasDown = row.OperationalState == string(cluster.Down)
		now, err := txNow(tx, r.db.Dialect)
		if err != nil {
			return err
		}
		n.LastCheckIn = now
		n.OperationalState = cluster.Up
		return tx.Model(&nodeRow{}).Where("node_id = ?", n.ID).Updates(map[string]any{
			"last_check_in": now, "operational_state": string(cluster.Up), "scheduler_state": string(n.SchedulerState),
			"error_reason": n.ErrorReason, "url": n.URL, "hostname": n.Hostname, "http_port": n.HTTPPort,
		}).Error
	})
	return wasDown, err
}

// NodesMarkDown flips a silent node to DOWN; only one caller wins.
func (r *Repo) NodesMarkDown(ctx context.Context, id string, deadBefore time.Time) (bool, error) {
	res := r.db.WithContext(ctx).Exec("UPDATE nodes SET operational_state = ? WHERE node_id = ? AND operational_state <> ? AND last_check_in < ?",
		string(cluster.Down), id, string(cluster.Down), deadBefore.UTC())
	return res.RowsAffected == 1, res.Error
}

// NodesSetDown marks this instance's row DOWN.
func (r *Repo) NodesSetDown(ctx context.Context, id, internalID string) error {
	return r.db.WithContext(ctx).Exec("UPDATE nodes SET operational_state = ? WHERE node_id = ? AND internal_id = ?",
		string(cluster.Down), id, internalID).Error
}

// NodesDelete removes a node row.
func (r *Repo) NodesDelete(ctx context.Context, id string) error {
	return r.db.WithContext(ctx).Where("node_id = ?", id).Delete(&nodeRow{}).Error
}
