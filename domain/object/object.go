// Package object holds the repository's object types and their rules. The
// structs are no wire or storage format: the REST adapter and the stores map
// them to types of their own, so renaming a field here changes neither the
// API nor the stored data.
package object

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Type names a kind of repository object; the values are the REST path segments.
type Type string

// Object types of DESIGN §8.
const (
	TypeUser                Type = "users"
	TypeRole                Type = "roles"
	TypeArchetype           Type = "archetypes"
	TypeObjectTemplate      Type = "objectTemplates"
	TypeReport              Type = "reports"
	TypeSystemConfiguration Type = "systemConfiguration"
)

// Types lists every object type.
var Types = []Type{TypeUser, TypeRole, TypeArchetype, TypeObjectTemplate, TypeReport, TypeSystemConfiguration, TypeCase}

// ParseType validates a type name.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w: unknown object type %q", ErrInvalid, s)
}

// SystemConfigurationOID is the fixed OID of the singleton system configuration.
const SystemConfigurationOID = "00000000-0000-0000-0000-000000000001"

// Errors returned by the repository.
var (
	ErrNotFound      = errors.New("object not found")
	ErrAlreadyExists = errors.New("object already exists")
	ErrInvalid       = errors.New("invalid object")
)

// ConflictError reports a modification against a stale version.
type ConflictError struct {
	Expected, Actual int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("version conflict: expected %d, object is at %d", e.Expected, e.Actual)
}

// Meta is what every object has.
type Meta struct {
	OID        string
	Name       string
	Version    int64
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// Object is any repository object.
type Object interface {
	ObjectMeta() *Meta
	Type() Type
	// Validate checks the object's own rules before it is stored.
	Validate() error
}

// ObjectMeta implements Object for embedding types.
func (m *Meta) ObjectMeta() *Meta { return m }

func (m *Meta) validateName() error {
	if strings.TrimSpace(m.Name) == "" {
		return fmt.Errorf("%w: name is required", ErrInvalid)
	}
	if len(m.Name) > 255 {
		return fmt.Errorf("%w: name is longer than 255 characters", ErrInvalid)
	}
	return nil
}

// NormalizeName is the form in which names are unique per type (case-insensitive).
func NormalizeName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// New returns an empty object of the type.
func New(t Type) Object {
	switch t {
	case TypeUser:
		return &User{Enabled: true}
	case TypeRole:
		return &Role{}
	case TypeArchetype:
		return &Archetype{}
	case TypeObjectTemplate:
		return &ObjectTemplate{}
	case TypeReport:
		return &Report{}
	case TypeSystemConfiguration:
		return &SystemConfiguration{}
	case TypeCase:
		return &Case{}
	}
	return nil
}

// Query selects objects of one type, a page at a time in name order.
type Query struct {
	Type Type
	// Name matches the one object of that name (case-insensitively, after
	// normalization); empty matches all.
	Name string
	// NameContains matches names containing it, case-insensitively; empty
	// matches all.
	NameContains string
	// After starts the page after this cursor (Page.Next of the page
	// before): a keyset page costs the same wherever it is.
	After string
	// Limit defaults to 50 and is capped at 1000.
	Limit int
	// Offset skips that many objects first. Each skipped object is read, so
	// a page at offset N costs N rows: After is the way to walk far.
	Offset int
}

// CountCap bounds the objects a search counts exactly. Past it, a page's
// Total is an estimate (Page.TotalEstimated), so that no page costs a count
// over every object of a big repository.
const CountCap = 10_000

// OIDRange selects objects of one type by OID, in OID order, a page at a
// time by keyset: a bucket of work reads exactly its own objects and no page
// costs more than the one before it (no OFFSET scan).
type OIDRange struct {
	Type Type
	// From and To bound the OIDs to [From, To); "" leaves that end open.
	From, To string
	// After, when set, starts the page after this OID (the last one of the
	// page before).
	After string
	// Limit defaults to 500 and is capped at 5000.
	Limit int
}

// Normalize applies the limit's default and bound.
func (r OIDRange) Normalize() OIDRange {
	if r.Limit <= 0 {
		r.Limit = 500
	}
	r.Limit = min(r.Limit, 5000)
	return r
}

// Normalize applies defaults and bounds.
func (q Query) Normalize() Query {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
	if q.Offset < 0 {
		q.Offset = 0
	}
	return q
}

// Page is one page of a search, in stable order (normalized name; names are
// unique per type).
type Page struct {
	Items []Object
	// Total is how many objects match: exact up to CountCap, estimated from
	// the database's statistics past it (TotalEstimated).
	Total          int64
	TotalEstimated bool
	// Next is the cursor of the next page (Query.After), empty on the last.
	Next string
}
