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

// LogEffect is the change log's classifier (repository.Classifier): a
// change to a globally cached object, or one with a session effect, is
// logged so every node applies it. A user written in a batch comes without
// the user as it was read; its principals are rebuilt (or its sessions
// end, if it is now disabled), which costs a rebuild at worst.
func LogEffect(c repository.Change) (repository.Effect, bool) {
	if repository.Cached(c.Type) {
		return repository.EffectCache, true
	}
	if c.Type == object.TypeUser && c.Kind == repository.ChangeModify && c.Before == nil {
		if u, ok := c.After.(*object.User); ok && !u.Enabled {
			return repository.EffectEnd, true
		}
		return repository.EffectRefresh, true
	}
	switch effect, _ := EffectOf(c); effect {
	case EffectRefresh:
		return repository.EffectRefresh, true
	case EffectEndAll:
		return repository.EffectEnd, true
	case EffectRefreshAll:
		return repository.EffectRefreshAll, true
	}
	return "", false
}

// ApplyLogged applies another node's session effect from the change log
// on this node: the cached principals go, and the next request rebuilds
// them from the repository, where a disabled or deleted user's sessions
// no longer authenticate (the node that made the change deleted them).
func (s *Service) ApplyLogged(e repository.LogEntry) {
	switch e.Effect {
	case repository.EffectRefresh, repository.EffectEnd:
		s.InvalidateUser(e.OID)
	case repository.EffectRefreshAll:
		s.DropPrincipals()
	}
}

// DropPrincipals drops every cached principal on this node.
func (s *Service) DropPrincipals() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.principals)
}
