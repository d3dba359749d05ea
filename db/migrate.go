package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

//go:embed migrations
var repoMigrations embed.FS

// Schema actions, as in midPoint's missingSchemaAction / upgradeableSchemaAction.
const (
	ActionCreate  = "create"
	ActionUpgrade = "upgrade"
	ActionWarn    = "warn"
	ActionStop    = "stop"
)

// ErrSchemaMissing and ErrSchemaOutdated stop start-up under the "stop" action.
var (
	ErrSchemaMissing  = errors.New("database schema is missing")
	ErrSchemaOutdated = errors.New("database schema needs an upgrade")
	ErrSchemaTooNew   = errors.New("database schema is newer than this binary")
)

// Migration is one versioned SQL script.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// MigrationSet is an ordered list of migrations kept in one version table.
type MigrationSet struct {
	// Table records applied versions (e.g. "cadre_schema_version").
	Table      string
	Migrations []Migration
}

// Latest is the highest version in the set.
func (s MigrationSet) Latest() int {
	if len(s.Migrations) == 0 {
		return 0
	}
	return s.Migrations[len(s.Migrations)-1].Version
}

// LoadMigrations reads NNNN_name.sql files from dir in fsys.
func LoadMigrations(fsys fs.FS, dir, table string) (MigrationSet, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return MigrationSet{}, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	set := MigrationSet{Table: table}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return MigrationSet{}, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return MigrationSet{}, err
		}
		set.Migrations = append(set.Migrations, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(set.Migrations, func(i, j int) bool { return set.Migrations[i].Version < set.Migrations[j].Version })
	return set, nil
}

// RepositoryMigrations are the repository's own migrations for a dialect.
func RepositoryMigrations(d Dialect) MigrationSet {
	set, err := LoadMigrations(repoMigrations, "migrations/"+dialectDir(d), "cadre_schema_version")
	if err != nil {
		panic(err) // embedded files are checked by tests
	}
	return set
}

func dialectDir(d Dialect) string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// SchemaVersion returns the applied version of set (0 when the version table is absent).
func (d *DB) SchemaVersion(ctx context.Context, set MigrationSet) (int, error) {
	return schemaVersion(d.WithContext(ctx), set)
}

// Migrate brings the schema of set up to date, honouring the missing-schema and
// upgradeable-schema actions. It returns the schema version in force afterwards.
// Reading the version and applying every pending migration happen in one
// transaction, serialised across processes (an advisory lock on PostgreSQL,
// BEGIN IMMEDIATE on SQLite), so nodes starting together never see a
// half-migrated schema.
func (d *DB) Migrate(ctx context.Context, set MigrationSet, missingAction, upgradeAction string, log *slog.Logger) (int, error) {
	var result int
	err := d.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if d.Dialect == Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(4242)").Error; err != nil {
				return err
			}
		}
		current, err := schemaVersion(tx, set)
		if err != nil {
			return err
		}
		result = current
		latest := set.Latest()
		switch {
		case current > latest:
			return fmt.Errorf("%w: %s at version %d, binary knows %d", ErrSchemaTooNew, set.Table, current, latest)
		case current == latest:
			return nil
		case current == 0:
			switch missingAction {
			case ActionStop:
				return fmt.Errorf("%w (%s); missingSchemaAction=stop", ErrSchemaMissing, set.Table)
			case ActionWarn:
				log.Warn("database schema is missing; continuing because missingSchemaAction=warn", "table", set.Table)
				return nil
			}
		default:
			switch upgradeAction {
			case ActionStop:
				return fmt.Errorf("%w: %s at version %d, latest %d; upgradeableSchemaAction=stop", ErrSchemaOutdated, set.Table, current, latest)
			case ActionWarn:
				log.Warn("database schema is outdated; continuing because upgradeableSchemaAction=warn", "table", set.Table, "version", current, "latest", latest)
				return nil
			}
		}
		if err := apply(tx, set, current); err != nil {
			return err
		}
		result = latest
		return nil
	})
	return result, err
}

func schemaVersion(tx *gorm.DB, set MigrationSet) (int, error) {
	if !tx.Migrator().HasTable(set.Table) {
		return 0, nil
	}
	var v *int
	if err := tx.Raw("SELECT MAX(version) FROM " + set.Table).Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

func apply(tx *gorm.DB, set MigrationSet, current int) error {
	create := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)", set.Table)
	if err := tx.Exec(create).Error; err != nil {
		return fmt.Errorf("create %s: %w", set.Table, err)
	}
	for _, m := range set.Migrations {
		if m.Version <= current {
			continue
		}
		for _, stmt := range splitSQL(m.SQL) {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("migration %04d_%s: statement %q: %w", m.Version, m.Name, firstLine(stmt), err)
			}
		}
		if err := tx.Exec("INSERT INTO "+set.Table+" (version, name) VALUES (?, ?)", m.Version, m.Name).Error; err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// splitSQL splits a script on semicolons that end a line, except inside a
// dollar-quoted body ($$ … $$, as a DO block's), whose own statements end
// lines too.
func splitSQL(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") && strings.Count(cur.String(), "$$")%2 == 0 {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
