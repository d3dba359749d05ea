package gormrepo

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"cadre/app/repository"
	"cadre/domain/object"
)

// changeRow is one row of the change log (migration 0019). at_ms is the
// database's default, never written by the repository.
type changeRow struct {
	Seq    int64  `gorm:"primaryKey;column:seq;autoIncrement"`
	Type   string `gorm:"column:type"`
	OID    string `gorm:"column:oid"`
	Effect string `gorm:"column:effect"`
	NodeID string `gorm:"column:node_id"`
	AtMs   int64  `gorm:"column:at_ms;<-:false"`
}

func (changeRow) TableName() string { return "change_log" }

// SetChangeLog makes every write of the repository log the changes that
// classify picks, in the write's own transaction, as made by nodeID. Call
// it before the repository is shared; without it nothing is logged.
func (r *Repo) SetChangeLog(nodeID string, classify repository.Classifier) {
	r.logNode, r.classify = nodeID, classify
}

// logged is the change log rows of cs (none without a classifier).
func (r *Repo) logged(cs ...repository.Change) []changeRow {
	if r.classify == nil {
		return nil
	}
	var out []changeRow
	for _, c := range cs {
		if e, ok := r.classify(c); ok {
			out = append(out, changeRow{Type: string(c.Type), OID: c.OID, Effect: string(e), NodeID: r.logNode})
		}
	}
	return out
}

// writeLog inserts rows inside tx, one statement, filling in their seqs.
func writeLog(tx *gorm.DB, rows []changeRow) error {
	if len(rows) == 0 {
		return nil
	}
	if err := tx.Create(&rows).Error; err != nil {
		return fmt.Errorf("write change log: %w", err)
	}
	return nil
}

// recordLog hands the seqs of committed rows to the caller's collector.
func recordLog(ctx context.Context, rows []changeRow) {
	for _, row := range rows {
		repository.RecordChangeSeq(ctx, row.OID, row.Seq)
	}
}

// writeLogSQL inserts rows inside a database/sql transaction (the hot
// path's batch write), one statement, filling in their seqs.
func (h *hotPath) writeLogSQL(ctx context.Context, tx *sql.Tx, rows []changeRow) error {
	if len(rows) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO change_log (type, oid, effect, node_id) VALUES ")
	args := make([]any, 0, 4*len(rows))
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&b, "(%s, %s, %s, %s)", h.ph(n+1), h.ph(n+2), h.ph(n+3), h.ph(n+4))
		args = append(args, row.Type, row.OID, row.Effect, row.NodeID)
	}
	b.WriteString(" RETURNING oid, seq")
	h.count()
	res, err := tx.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return fmt.Errorf("write change log: %w", err)
	}
	defer res.Close()
	seqs := make(map[string]int64, len(rows))
	for res.Next() {
		var oid string
		var seq int64
		if err := res.Scan(&oid, &seq); err != nil {
			return fmt.Errorf("write change log: %w", err)
		}
		seqs[oid] = seq
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("write change log: %w", err)
	}
	for i := range rows {
		rows[i].Seq = seqs[rows[i].OID]
	}
	return nil
}

// ChangeLogAfter implements repository.LogReader: one statement on the
// primary key, cheap enough for every node's 250 ms tick.
func (r *Repo) ChangeLogAfter(ctx context.Context, after int64, limit int) ([]repository.LogEntry, time.Time, error) {
	q := fmt.Sprintf("SELECT seq, type, oid, effect, node_id, at_ms, %s FROM change_log WHERE seq > %s ORDER BY seq LIMIT %s",
		r.drv.clockMillisSQL(), r.hot.ph(1), r.hot.ph(2))
	r.hot.count()
	res, err := r.hot.sql.QueryContext(ctx, q, after, limit)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read change log: %w", err)
	}
	defer res.Close()
	var out []repository.LogEntry
	var nowMs int64
	for res.Next() {
		var e repository.LogEntry
		var t string
		var atMs int64
		if err := res.Scan(&e.Seq, &t, &e.OID, &e.Effect, &e.NodeID, &atMs, &nowMs); err != nil {
			return nil, time.Time{}, fmt.Errorf("read change log: %w", err)
		}
		e.Type, e.At = object.Type(t), time.UnixMilli(atMs).UTC()
		out = append(out, e)
	}
	if err := res.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("read change log: %w", err)
	}
	var now time.Time
	if nowMs != 0 {
		now = time.UnixMilli(nowMs).UTC()
	}
	return out, now, nil
}

// ChangeLogHead implements repository.LogReader.
func (r *Repo) ChangeLogHead(ctx context.Context) (int64, error) {
	var head sql.NullInt64
	if err := r.db.WithContext(ctx).Raw("SELECT MAX(seq) FROM change_log").Scan(&head).Error; err != nil {
		return 0, fmt.Errorf("read change log head: %w", err)
	}
	return head.Int64, nil
}

// ChangeLogPrune deletes the entries written before t (database clock) and
// reports how many.
func (r *Repo) ChangeLogPrune(ctx context.Context, t time.Time) (int64, error) {
	res := r.db.WithContext(ctx).Where("at_ms < ?", t.UnixMilli()).Delete(&changeRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune change log: %w", res.Error)
	}
	return res.RowsAffected, nil
}
