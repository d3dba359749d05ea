package quartzstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

//go:embed migrations
var migrationsFS embed.FS

// SchemaVersionTable records the applied versions of the job-store schema.
const SchemaVersionTable = "qrtz_schema_version"

// migrateLockKey is the PostgreSQL advisory lock that serialises job-store
// migrations of processes starting together.
const migrateLockKey = 4244

// Errors of Migrate when it may not create or upgrade the tables.
var (
	ErrSchemaMissing  = errors.New("quartzstore: job-store schema is missing")
	ErrSchemaOutdated = errors.New("quartzstore: job-store schema needs an upgrade")
	ErrSchemaTooNew   = errors.New("quartzstore: job-store schema is newer than this library")
)

// Migration is one versioned script of the job-store schema, embedded from
// migrations/<dialect>/NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the job-store migrations of a dialect, oldest first.
func Migrations(d Dialect) ([]Migration, error) {
	dir := "migrations/sqlite"
	if d == Postgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var out []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationsFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// tables are the job-store tables, checked when the schema is not ours to create.
var tables = []string{"qrtz_jobs", "qrtz_triggers", "qrtz_fired_triggers", "qrtz_instances"}

// Migrate creates or upgrades the qrtz_ tables when createTables is set. When
// it is not, the tables must exist already (created by these migrations or by
// an administrator running migrations/<dialect>/*.sql); otherwise the error
// wraps ErrSchemaMissing or ErrSchemaOutdated. Processes may migrate the same
// database at once: reading the version and applying what is pending happen
// in one transaction, serialised by an advisory lock on PostgreSQL and by
// BEGIN IMMEDIATE on SQLite.
func (s *SQLStore) Migrate(ctx context.Context, createTables bool) error {
	set, err := Migrations(s.dialect)
	if err != nil {
		return err
	}
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if current == 0 && hasTables(s.db.WithContext(ctx)) {
		return nil // created by hand from the script, without the version table
	}
	err = s.migrate(ctx, set, createTables)
	for attempt := 1; err != nil && createTables && attempt < 3 && ctx.Err() == nil; attempt++ {
		// Nodes starting together race on PostgreSQL's CREATE TABLE IF NOT
		// EXISTS of the version table (pg_type unique violation); the loser
		// finds the tables there on a second try.
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		err = s.migrate(ctx, set, createTables)
	}
	if err != nil {
		if !createTables {
			return fmt.Errorf("job store tables (%s) are missing or outdated and table creation is off; "+
				"create them with quartzstore/migrations/%s/*.sql or enable table creation: %w",
				strings.Join(tables, ", "), s.dialect, err)
		}
		return fmt.Errorf("migrate job store: %w", err)
	}
	return nil
}

// migrate applies the pending migrations of set in one transaction, or
// reports them when create is false.
func (s *SQLStore) migrate(ctx context.Context, set []Migration, create bool) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.dialect == Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrateLockKey).Error; err != nil {
				return err
			}
		}
		current, err := schemaVersion(tx)
		if err != nil {
			return err
		}
		latest := set[len(set)-1].Version
		switch {
		case current > latest:
			return fmt.Errorf("%w: %s at version %d, this library knows %d", ErrSchemaTooNew, SchemaVersionTable, current, latest)
		case current == latest:
			return nil
		case !create && current == 0:
			return fmt.Errorf("%w (%s)", ErrSchemaMissing, SchemaVersionTable)
		case !create:
			return fmt.Errorf("%w: %s at version %d, latest %d", ErrSchemaOutdated, SchemaVersionTable, current, latest)
		}
		return apply(tx, set, current)
	})
}

// SchemaVersion returns the applied job-store schema version (0 when the
// version table is absent).
func (s *SQLStore) SchemaVersion(ctx context.Context) (int, error) {
	return schemaVersion(s.db.WithContext(ctx))
}

func schemaVersion(tx *gorm.DB) (int, error) {
	if !tx.Migrator().HasTable(SchemaVersionTable) {
		return 0, nil
	}
	var v *int
	if err := tx.Raw("SELECT MAX(version) FROM " + SchemaVersionTable).Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("read job-store schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

func hasTables(tx *gorm.DB) bool {
	for _, t := range tables {
		if !tx.Migrator().HasTable(t) {
			return false
		}
	}
	return true
}

func apply(tx *gorm.DB, set []Migration, current int) error {
	create := "CREATE TABLE IF NOT EXISTS " + SchemaVersionTable +
		" (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
	if err := tx.Exec(create).Error; err != nil {
		return fmt.Errorf("create %s: %w", SchemaVersionTable, err)
	}
	for _, m := range set {
		if m.Version <= current {
			continue
		}
		for _, stmt := range splitSQL(m.SQL) {
			if err := tx.Exec(stmt).Error; err != nil {
				first, _, _ := strings.Cut(stmt, "\n")
				return fmt.Errorf("migration %04d_%s: statement %q: %w", m.Version, m.Name, first, err)
			}
		}
		if err := tx.Exec("INSERT INTO "+SchemaVersionTable+" (version, name) VALUES (?, ?)", m.Version, m.Name).Error; err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// splitSQL splits a script into statements on semicolons that end a line,
// dropping comment lines.
func splitSQL(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
