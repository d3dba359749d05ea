package auth

import (
	"context"
	"slices"

	"cadre/app/repository"
	"cadre/domain/object"
)

// SessionEffect says what a repository change means for sessions.
type SessionEffect int

// Session effects of a change.
const (
	EffectNone       SessionEffect = iota
	EffectRefresh                  // cached principals of the user must be rebuilt
	EffectEndAll                   // the user's sessions end (disabled, deleted or a new password)
	EffectRefreshAll               // a role changed: rebuild every principal
)

// EffectOf classifies a committed change.
func EffectOf(c repository.Change) (SessionEffect, string) {
	switch c.Type {
	case object.TypeRole:
		if c.Kind != repository.ChangeAdd {
			return EffectRefreshAll, ""
		}
	case object.TypeUser:
		if c.Kind == repository.ChangeDelete {
			return EffectEndAll, c.OID
		}
		if c.Kind != repository.ChangeModify {
			return EffectNone, ""
		}
		before, after := c.Before.(*object.User), c.After.(*object.User)
		// A new password ends the sessions opened with the old one: whoever
		// learnt it, or stole a cookie, is out on every node.
		if !after.Enabled || before.PasswordHash != after.PasswordHash {
			return EffectEndAll, c.OID
		}
		if before.Enabled != after.Enabled || !slices.Equal(before.Roles, after.Roles) {
			return EffectRefresh, c.OID
		}
	}
	return EffectNone, ""
}

// Apply applies a session effect on this node. EffectEndAll also deletes the
// user's sessions from the repository, which ends them on every node.
func (s *Service) Apply(ctx context.Context, effect SessionEffect, userOID string) error {
	switch effect {
	case EffectRefresh:
		s.InvalidateUser(userOID)
	case EffectEndAll:
		return s.EndUserSessions(ctx, userOID)
	case EffectRefreshAll:
		s.mu.Lock()
		clear(s.principals)
		s.mu.Unlock()
	}
	return nil
}
