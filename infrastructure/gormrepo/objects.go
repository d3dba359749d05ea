// Package gormrepo is the repository adapter on gorm, for SQLite and PostgreSQL.
package gormrepo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"cadre/app/repository"
	"cadre/db"
	"cadre/domain/object"
)

// Repo stores repository objects in the objects table.
type Repo struct {
	db  *db.DB
	drv driver // what differs between the databases
	hot *hotPath
	// checkInConn runs check-ins outside the pool (CheckInOn); nil: the pool.
	checkInConn PriorityConn
	// stats refreshes the planner's statistics after bulk inserts.
	stats *freshStats

	// classify picks the changes written to the change log, as made by
	// logNode (SetChangeLog); nil logs nothing.
	classify repository.Classifier
	logNode  string
}

// New returns a repository on an opened, migrated database.
func New(d *db.DB) *Repo {
	drv := newDriver(d)
	analyze := func(ctx context.Context) (int64, bool, error) { return drv.analyzeObjects(ctx, d.DB) }
	return &Repo{db: d, drv: drv, hot: newHotPath(d, drv), stats: newFreshStats(analyze)}
}

// SessionLocks reports whether the database offers session-level locks that
// it releases the moment the holding connection dies (PostgreSQL advisory
// locks): a node's crash detection holds one while it lives (DESIGN §3).
func (r *Repo) SessionLocks() bool { return r.drv.sessionLocks() }

type objectRow struct {
	OID        string `gorm:"primaryKey;column:oid"`
	Type       string
	Name       string
	NameNorm   string
	Version    int64
	Data       string
	CreatedAt  time.Time
	ModifiedAt time.Time
}

func (objectRow) TableName() string { return "objects" }

func fromDomain(o object.Object) (objectRow, error) {
	m := o.ObjectMeta()
	data, err := encodeObject(o)
	if err != nil {
		return objectRow{}, fmt.Errorf("encode %s %s: %w", o.Type(), m.OID, err)
	}
	return objectRow{
		OID: m.OID, Type: string(o.Type()), Name: m.Name, NameNorm: object.NormalizeName(m.Name),
		Version: m.Version, Data: string(data), CreatedAt: m.CreatedAt.UTC(), ModifiedAt: m.ModifiedAt.UTC(),
	}, nil
}

func (r objectRow) toDomain() (object.Object, error) {
	o, err := decodeObject(object.Type(r.Type), []byte(r.Data))
	if err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", r.Type, r.OID, err)
	}
	m := o.ObjectMeta()
	m.OID, m.Name, m.Version = r.OID, r.Name, r.Version
	m.CreatedAt, m.ModifiedAt = r.CreatedAt.UTC(), r.ModifiedAt.UTC()
	return o, nil
}

// translate maps driver errors to repository errors, once, at the edge.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return object.ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey), isUniqueViolation(err):
		return object.ErrAlreadyExists
	}
	return err
}

func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// Add stores a new object; OID, version and timestamps must already be set.
func (r *Repo) Add(ctx context.Context, o object.Object) error {
	row, err := fromDomain(o)
	if err != nil {
		return err
	}
	logs := r.logged(repository.Change{Kind: repository.ChangeAdd, Type: o.Type(), OID: row.OID, After: o})
	if len(logs) == 0 {
		err = r.db.WithContext(ctx).Create(&row).Error
	} else {
		err = r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
			return writeLog(tx, logs)
		})
	}
	if err != nil {
		return fmt.Errorf("add %s %q: %w", o.Type(), o.ObjectMeta().Name, translate(err))
	}
	recordLog(ctx, logs)
	return nil
}

// Get reads one object.
func (r *Repo) Get(ctx context.Context, t object.Type, oid string) (object.Object, error) {
	var row objectRow
	err := r.db.WithContext(ctx).Where("oid = ? AND type = ?", oid, string(t)).Take(&row).Error
	if err != nil {
		return nil, translate(err)
	}
	return row.toDomain()
}

// GetByName reads one object by its (case-insensitive) name.
func (r *Repo) GetByName(ctx context.Context, t object.Type, name string) (object.Object, error) {
	var row objectRow
	err := r.db.WithContext(ctx).Where("type = ? AND name_norm = ?", string(t), object.NormalizeName(name)).Take(&row).Error
	if err != nil {
		return nil, translate(err)
	}
	return row.toDomain()
}

// Modify reads the object under a row lock, checks expectedVersion (0 = any),
// applies change, bumps the version and writes it back, all in one transaction.
func (r *Repo) Modify(ctx context.Context, t object.Type, oid string, expectedVersion int64, now time.Time, change func(object.Object) error) (object.Object, error) {
	var result object.Object
	var logs []changeRow
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := r.drv.lockForUpdate(tx.Where("oid = ? AND type = ?", oid, string(t)))
		var row objectRow
		if err := q.Take(&row).Error; err != nil {
			return translate(err)
		}
		if expectedVersion != 0 && row.Version != expectedVersion {
			return &object.ConflictError{Expected: expectedVersion, Actual: row.Version}
		}
		o, err := row.toDomain()
		if err != nil {
			return err
		}
		var before object.Object
		if r.classify != nil {
			if before, err = row.toDomain(); err != nil {
				return err
			}
		}
		if err := change(o); err != nil {
			return err
		}
		m := o.ObjectMeta()
		m.OID, m.Version, m.CreatedAt, m.ModifiedAt = row.OID, row.Version+1, row.CreatedAt, now.UTC()
		if err := o.Validate(); err != nil {
			return err
		}
		next, err := fromDomain(o)
		if err != nil {
			return err
		}
		res := tx.Model(&objectRow{}).Where("oid = ? AND version = ?", oid, row.Version).Updates(map[string]any{
			"name": next.Name, "name_norm": next.NameNorm, "version": next.Version, "data": next.Data, "modified_at": next.ModifiedAt,
		})
		if res.Error != nil {
			return translate(res.Error)
		}
		if res.RowsAffected != 1 {
			return &object.ConflictError{Expected: row.Version, Actual: row.Version + 1}
		}
		logs = r.logged(repository.Change{Kind: repository.ChangeModify, Type: t, OID: oid, Before: before, After: o})
		result = o
		return writeLog(tx, logs)
	})
	if err != nil {
		return nil, err
	}
	recordLog(ctx, logs)
	return result, nil
}

// Delete removes one object.
func (r *Repo) Delete(ctx context.Context, t object.Type, oid string) error {
	del := func(tx *gorm.DB) error {
		res := tx.Where("oid = ? AND type = ?", oid, string(t)).Delete(&objectRow{})
		if res.Error != nil {
			return translate(res.Error)
		}
		if res.RowsAffected == 0 {
			return object.ErrNotFound
		}
		return nil
	}
	logs := r.logged(repository.Change{Kind: repository.ChangeDelete, Type: t, OID: oid})
	if len(logs) == 0 {
		return del(r.db.WithContext(ctx))
	}
	if err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := del(tx); err != nil {
			return err
		}
		return writeLog(tx, logs)
	}); err != nil {
		return err
	}
	recordLog(ctx, logs)
	return nil
}

// Search returns one page of objects in name order. Every form is bounded
// by the page, not the type: an exact name is a lookup in the unique (type,
// name_norm) index, a page after a cursor starts in that index where the
// last one ended, and the total is counted only up to object.CountCap (past
// it, estimated). Only Offset and a substring that the trigram index cannot
// narrow (under three characters, or SQLite) read more than the page.
func (r *Repo) Search(ctx context.Context, q object.Query) (object.Page, error) {
	q = q.Normalize()
	base := r.db.WithContext(ctx).Model(&objectRow{}).Where("type = ?", string(q.Type))
	if q.Name != "" {
		base = base.Where("name_norm = ?", object.NormalizeName(q.Name))
	}
	if q.NameContains != "" {
		base = base.Where("name_norm LIKE ? ESCAPE '\\'", "%"+escapeLike(object.NormalizeName(q.NameContains))+"%")
	}
	total, estimated, err := r.countCapped(base)
	if err != nil {
		return object.Page{}, fmt.Errorf("count %s: %w", q.Type, err)
	}
	page := base.Session(&gorm.Session{})
	if q.After != "" {
		page = page.Where("name_norm > ?", q.After)
	}
	var rows []objectRow
	if err := page.Order("name_norm").Limit(q.Limit + 1).Offset(q.Offset).Find(&rows).Error; err != nil {
		return object.Page{}, fmt.Errorf("search %s: %w", q.Type, err)
	}
	out := object.Page{Total: total, TotalEstimated: estimated, Items: make([]object.Object, 0, min(len(rows), q.Limit))}
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		out.Next = rows[len(rows)-1].NameNorm
	}
	for _, row := range rows {
		o, err := row.toDomain()
		if err != nil {
			return object.Page{}, err
		}
		out.Items = append(out.Items, o)
	}
	return out, nil
}

// countCapped counts the rows of q up to object.CountCap; past the cap it
// returns the planner's estimate on PostgreSQL (the cap on SQLite) and true.
func (r *Repo) countCapped(q *gorm.DB) (int64, bool, error) {
	var n int64
	capped := q.Session(&gorm.Session{}).Select("1").Limit(object.CountCap + 1)
	if err := r.db.Table("(?) AS capped", capped).Count(&n).Error; err != nil {
		return 0, false, err
	}
	if n <= object.CountCap {
		return n, false, nil
	}
	if est, ok := r.drv.estimateRows(q.Session(&gorm.Session{})); ok && est > object.CountCap {
		return est, true, nil
	}
	return object.CountCap, true, nil
}

// Count returns how many objects of the type exist.
func (r *Repo) Count(ctx context.Context, t object.Type) (int64, error) {
	var n int64
	err := r.db.WithContext(ctx).Model(&objectRow{}).Where("type = ?", string(t)).Count(&n).Error
	return n, err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListByOID returns one keyset page of objects of a type in an OID range, in
// OID order: an index range scan of the primary key, never an OFFSET.
func (r *Repo) ListByOID(ctx context.Context, rg object.OIDRange) ([]object.Object, error) {
	rg = rg.Normalize()
	q := r.db.WithContext(ctx).Model(&objectRow{}).Where("type = ?", string(rg.Type))
	if rg.From != "" {
		q = q.Where("oid >= ?", rg.From)
	}
	if rg.To != "" {
		q = q.Where("oid < ?", rg.To)
	}
	if rg.After != "" {
		q = q.Where("oid > ?", rg.After)
	}
	var rows []objectRow
	if err := q.Order("oid").Limit(rg.Limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list %s by oid: %w", rg.Type, err)
	}
	out := make([]object.Object, 0, len(rows))
	for _, row := range rows {
		o, err := row.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// WriteMany stores modified objects in one transaction (PostgreSQL: one
// statement), each only at the version it carries.
func (r *Repo) WriteMany(ctx context.Context, objs []object.Object, now time.Time) ([]bool, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	rows := make([]objectRow, len(objs))
	for i, o := range objs {
		if err := o.Validate(); err != nil {
			return nil, err
		}
		row, err := fromDomain(o)
		if err != nil {
			return nil, err
		}
		rows[i] = row
	}
	// A batch write has the objects as read only when the service handed
	// them down; without them the classifier assumes the worst.
	cs := make([]repository.Change, len(objs))
	for i, o := range objs {
		cs[i] = repository.Change{Kind: repository.ChangeModify, Type: o.Type(), OID: rows[i].OID,
			Before: repository.BeforeOf(ctx, rows[i].OID), After: o}
	}
	written, logs, err := r.hot.writeObjects(ctx, rows, now, r.logged(cs...))
	if err != nil {
		return nil, translate(err)
	}
	recordLog(ctx, logs)
	for i, o := range objs {
		if written[i] {
			m := o.ObjectMeta()
			m.Version, m.ModifiedAt = m.Version+1, now.UTC()
		}
	}
	return written, nil
}

// GetByNames reads objects by normalized name in one query.
func (r *Repo) GetByNames(ctx context.Context, t object.Type, names []string) (map[string]object.Object, error) {
	out := make(map[string]object.Object, len(names))
	if len(names) == 0 {
		return out, nil
	}
	norms := make([]string, len(names))
	for i, n := range names {
		norms[i] = object.NormalizeName(n)
	}
	var rows []objectRow
	if err := r.drv.whereNames(r.db.WithContext(ctx), string(t), norms).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read %d %s by name: %w", len(names), t, translate(err))
	}
	for _, row := range rows {
		o, err := row.toDomain()
		if err != nil {
			return nil, err
		}
		out[row.NameNorm] = o
	}
	return out, nil
}

// AddMany inserts objects in one transaction (multi-row INSERTs).
func (r *Repo) AddMany(ctx context.Context, objs []object.Object) error {
	if len(objs) == 0 {
		return nil
	}
	rows := make([]objectRow, len(objs))
	for i, o := range objs {
		row, err := fromDomain(o)
		if err != nil {
			return err
		}
		rows[i] = row
	}
	var changes []repository.Change
	for _, o := range objs {
		changes = append(changes, repository.Change{Kind: repository.ChangeAdd, Type: o.Type(), OID: o.ObjectMeta().OID, After: o})
	}
	logs := r.logged(changes...)
	if err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rows, 200).Error; err != nil {
			return err
		}
		return writeLog(tx, logs)
	}); err != nil {
		return fmt.Errorf("add %d %s: %w", len(objs), objs[0].Type(), translate(err))
	}
	r.stats.added(len(objs))
	recordLog(ctx, logs)
	return nil
}
