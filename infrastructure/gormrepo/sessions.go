package gormrepo

import (
	"context"
	"time"

	"cadre/domain/security"
)

type sessionRow struct {
	ID         string `gorm:"primaryKey"`
	UserOID    string `gorm:"column:user_oid"`
	CSRFToken  string `gorm:"column:csrf_token"`
	NodeID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

func (sessionRow) TableName() string { return "sessions" }

func (r sessionRow) toDomain() security.Session {
	return security.Session{ID: r.ID, UserOID: r.UserOID, CSRFToken: r.CSRFToken, NodeID: r.NodeID,
		CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
}

// SessionsAdd stores a new session.
func (r *Repo) SessionsAdd(ctx context.Context, s security.Session) error {
	row := sessionRow{ID: s.ID, UserOID: s.UserOID, CSRFToken: s.CSRFToken, NodeID: s.NodeID,
		CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
	return translate(r.db.WithContext(ctx).Create(&row).Error)
}

// SessionsGet reads a session by ID.
func (r *Repo) SessionsGet(ctx context.Context, id string) (security.Session, error) {
	var row sessionRow
	if err := r.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return security.Session{}, translate(err)
	}
	return row.toDomain(), nil
}

// SessionsTouch extends a session's expiry.
func (r *Repo) SessionsTouch(ctx context.Context, id string, now, expires time.Time) error {
	return r.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ?", id).
		Updates(map[string]any{"last_seen_at": now.UTC(), "expires_at": expires.UTC()}).Error
}

// SessionsDelete removes one session.
func (r *Repo) SessionsDelete(ctx context.Context, id string) error {
	return r.db.WithContext(ctx).Where("id = ?", id).Delete(&sessionRow{}).Error
}

// SessionsDeleteByUser removes every session of a user and returns their IDs.
func (r *Repo) SessionsDeleteByUser(ctx context.Context, userOID string) ([]string, error) {
	var ids []string
	if err := r.db.WithContext(ctx).Model(&sessionRow{}).Where("user_oid = ?", userOID).Pluck("id", &ids).Error; err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, r.db.WithContext(ctx).Where("user_oid = ?", userOID).Delete(&sessionRow{}).Error
}

// SessionsDeleteExpired removes sessions that expired before now and returns how many.
func (r *Repo) SessionsDeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	res := r.db.WithContext(ctx).Where("expires_at < ?", now.UTC()).Delete(&sessionRow{})
	return res.RowsAffected, res.Error
}
