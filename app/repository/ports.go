// Package repository holds the use cases on repository objects: add, read,
// modify with optimistic locking, delete and search, with authorization.
package repository

import (
	"context"
	"time"

	"cadre/domain/object"
)

// Store is the persistence port for objects.
type Store interface {
	Add(ctx context.Context, o object.Object) error
	Get(ctx context.Context, t object.Type, oid string) (object.Object, error)
	GetByName(ctx context.Context, t object.Type, name string) (object.Object, error)
	Modify(ctx context.Context, t object.Type, oid string, expectedVersion int64, now time.Time, change func(object.Object) error) (object.Object, error)
	Delete(ctx context.Context, t object.Type, oid string) error
	Search(ctx context.Context, q object.Query) (object.Page, error)
	Count(ctx context.Context, t object.Type) (int64, error)
	// GetByNames reads the objects of a type with any of the names
	// (case-insensitive), keyed by normalized name; missing names are absent.
	GetByNames(ctx context.Context, t object.Type, names []string) (map[string]object.Object, error)
	// AddMany adds new objects in one transaction: all of them, or none
	// (the error of the first that could not be added).
	AddMany(ctx context.Context, objs []object.Object) error
	// ListByOID returns one keyset page of objects in an OID range, in OID order.
	ListByOID(ctx context.Context, r object.OIDRange) ([]object.Object, error)
	// WriteMany stores modified objects in one transaction, each only if its
	// stored version is still the one it carries (ObjectMeta().Version), and
	// bumps that version and sets ModifiedAt to now on the ones written. The
	// result says, per object, whether it was written; an object changed
	// meanwhile is left alone (false), for the caller to modify on its own.
	WriteMany(ctx context.Context, objs []object.Object, now time.Time) ([]bool, error)
}

// PasswordHasher hashes and checks passwords.
type PasswordHasher interface {
	Hash(password string) (string, error)
}

// ChangeKind says what happened to an object.
type ChangeKind string

// Change kinds.
const (
	ChangeAdd    ChangeKind = "add"
	ChangeModify ChangeKind = "modify"
	ChangeDelete ChangeKind = "delete"
)

// Change describes one committed modification, for caches and sessions.
type Change struct {
	Kind   ChangeKind
	Type   object.Type
	OID    string
	Before object.Object // nil on add
	After  object.Object // nil on delete
	// Seq is the change log row the store wrote for it in the same
	// transaction; 0 when the change was not logged.
	Seq int64
}

// ChangeListener is told about every committed change, after the commit.
type ChangeListener func(ctx context.Context, c Change)
