package repository

import (
	"reflect"
	"testing"
	"time"

	"cadre/domain/object"
)

// TestCloneIsDeep: every object type copies, the copy equals the original,
// and changing the copy's lists and times leaves the original (the cached
// object) as it was.
func TestCloneIsDeep(t *testing.T) {
	// build makes the same object each time, to compare with after the change.
	build := func(typ object.Type) object.Object {
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		decided, applied := at, at
		o := object.New(typ)
		switch v := o.(type) {
		case *object.User:
			v.Roles, v.EffectiveAuthorizations = []string{"r"}, []string{object.AuthReader}
		case *object.Role:
			v.Authorizations, v.Approvers = []string{object.AuthReader}, []string{"u"}
		case *object.Case:
			v.DecidedAt, v.AppliedAt = &decided, &applied
		}
		*o.ObjectMeta() = object.Meta{OID: "oid-1", Name: "one", Version: 2, CreatedAt: at, ModifiedAt: at}
		return o
	}
	for _, typ := range object.Types {
		o := build(typ)
		c := clone(o)
		if !reflect.DeepEqual(c, o) {
			t.Errorf("%s: clone\n%#v\nof\n%#v", typ, c, o)
		}
		switch v := c.(type) {
		case *object.User:
			v.Roles[0], v.EffectiveAuthorizations[0] = "changed", "changed"
		case *object.Role:
			v.Authorizations[0], v.Approvers[0] = "changed", "changed"
		case *object.Case:
			*v.DecidedAt, *v.AppliedAt = time.Time{}, time.Time{}
		}
		c.ObjectMeta().Name = "changed"
		if !reflect.DeepEqual(o, build(typ)) {
			t.Errorf("%s: changing the clone changed the original: %#v", typ, o)
		}
	}
}
