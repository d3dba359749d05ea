package gormrepo

import (
	"context"
	"fmt"
	"time"

	"cadre/domain/security"
)

type loginFailureRow struct {
	ThrottleKey   string `gorm:"primaryKey;column:throttle_key"`
	Failures      int
	WindowStartMs int64 `gorm:"column:window_start_ms"`
}

func (loginFailureRow) TableName() string { return "login_failures" }

func (r loginFailureRow) toDomain() security.LoginFailures {
	return security.LoginFailures{Key: r.ThrottleKey, Failures: r.Failures, WindowStart: time.UnixMilli(r.WindowStartMs).UTC()}
}

// LoginFailuresAdd counts one failed login for key at now, in one atomic
// statement: a window older than window starts afresh at now. It returns
// the count and window after the failure.
func (r *Repo) LoginFailuresAdd(ctx context.Context, key string, now time.Time, window time.Duration) (security.LoginFailures, error) {
	nowMs, expired := now.UnixMilli(), now.Add(-window).UnixMilli()
	var row loginFailureRow
	err := r.db.WithContext(ctx).Raw(`INSERT INTO login_failures (throttle_key, failures, window_start_ms) VALUES (?, 1, ?)
		ON CONFLICT (throttle_key) DO UPDATE SET
			failures = CASE WHEN login_failures.window_start_ms <= ? THEN 1 ELSE login_failures.failures + 1 END,
			window_start_ms = CASE WHEN login_failures.window_start_ms <= ? THEN excluded.window_start_ms ELSE login_failures.window_start_ms END
		RETURNING throttle_key, failures, window_start_ms`, key, nowMs, expired, expired).Scan(&row).Error
	if err != nil {
		return security.LoginFailures{}, fmt.Errorf("count failed login: %w", err)
	}
	return row.toDomain(), nil
}

// LoginFailuresGet reads the counts of keys; a key without failures is absent.
func (r *Repo) LoginFailuresGet(ctx context.Context, keys []string) ([]security.LoginFailures, error) {
	var rows []loginFailureRow
	if err := r.db.WithContext(ctx).Where("throttle_key IN ?", keys).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read failed logins: %w", err)
	}
	out := make([]security.LoginFailures, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, nil
}

// LoginFailuresClear forgets the failures of key (after a successful login).
func (r *Repo) LoginFailuresClear(ctx context.Context, key string) error {
	return r.db.WithContext(ctx).Where("throttle_key = ?", key).Delete(&loginFailureRow{}).Error
}

// LoginFailuresDeleteBefore removes windows that started before t.
func (r *Repo) LoginFailuresDeleteBefore(ctx context.Context, t time.Time) error {
	return r.db.WithContext(ctx).Where("window_start_ms < ?", t.UnixMilli()).Delete(&loginFailureRow{}).Error
}
