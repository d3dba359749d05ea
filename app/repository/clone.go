package repository

import (
	"fmt"
	"slices"

	"cadre/domain/object"
)

// clone deep-copies an object, so that a cached object never shares a list
// or a time with one a caller changes.
func clone(o object.Object) object.Object {
	switch v := o.(type) {
	case *object.User:
		c := *v
		c.Roles, c.EffectiveAuthorizations = slices.Clone(v.Roles), slices.Clone(v.EffectiveAuthorizations)
		return &c
	case *object.Role:
		c := *v
		c.Authorizations, c.Approvers = slices.Clone(v.Authorizations), slices.Clone(v.Approvers)
		return &c
	case *object.Archetype:
		c := *v
		return &c
	case *object.ObjectTemplate:
		c := *v
		return &c
	case *object.Report:
		c := *v
		return &c
	case *object.SystemConfiguration:
		c := *v
		return &c
	case *object.Case:
		c := *v
		c.DecidedAt, c.AppliedAt = clonePtr(v.DecidedAt), clonePtr(v.AppliedAt)
		return &c
	}
	panic(fmt.Sprintf("repository: no copy for object type %s (%T)", o.Type(), o))
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}
