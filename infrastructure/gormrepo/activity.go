package gormrepo

import (
	"context"
	"fmt"
	"time"

	"cadre/domain/cluster"
)

type eventRow struct {
	ID      int64 `gorm:"primaryKey;autoIncrement"`
	At      time.Time
	Kind    string
	NodeID  string `gorm:"column:node_id"`
	Actor   string
	Message string
	Millis  int64
}

func (eventRow) TableName() string { return "cluster_events" }

// EventsAdd stores one cluster event, stamped with the database clock so
// that events written by different nodes sort right.
func (r *Repo) EventsAdd(ctx context.Context, e cluster.Event) error {
	now, err := r.db.Now(ctx)
	if err != nil {
		return fmt.Errorf("store %s event: %w", e.Kind, err)
	}
	row := eventRow{At: now.UTC(), Kind: string(e.Kind), NodeID: e.Node, Actor: e.Actor, Message: e.Message, Millis: e.Millis}
	if err := r.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("store %s event: %w", e.Kind, err)
	}
	return nil
}

// EventsList returns the newest events first, at most limit of them.
func (r *Repo) EventsList(ctx context.Context, limit int) ([]cluster.Event, error) {
	return r.EventsPage(ctx, 0, limit)
}

// EventsPage returns, newest first, at most limit events older than the
// event of ID before (0: the newest). It is a keyset page on the primary
// key, so the page a year back costs what the newest does.
func (r *Repo) EventsPage(ctx context.Context, before int64, limit int) ([]cluster.Event, error) {
	q := r.db.WithContext(ctx)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var rows []eventRow
	if err := q.Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list cluster events: %w", err)
	}
	out := make([]cluster.Event, len(rows))
	for i, row := range rows {
		out[i] = cluster.Event{ID: row.ID, At: row.At.UTC(), Kind: cluster.EventKind(row.Kind), Node: row.NodeID, Actor: row.Actor,
			Message: row.Message, Millis: row.Millis}
	}
	return out, nil
}

// EventsPrune deletes events older than before; it returns how many.
func (r *Repo) EventsPrune(ctx context.Context, before time.Time) (int64, error) {
	res := r.db.WithContext(ctx).Where("at < ?", before.UTC()).Delete(&eventRow{})
	return res.RowsAffected, res.Error
}
