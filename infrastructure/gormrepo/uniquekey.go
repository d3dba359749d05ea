package gormrepo

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"cadre/domain/task"
)

// keyRetries bounds how often a write refused for a unique key is tried
// again because the task that held the key closed in the meantime.
const keyRetries = 3

// isKeyViolation reports a write that a unique index refused. For a task
// that holds a unique key, that is tasks_open_unique_key (0011): its OID is
// a fresh UUID, so the primary key does not collide.
func isKeyViolation(key string, err error) bool {
	return key != "" && err != nil && (errors.Is(err, gorm.ErrDuplicatedKey) || isUniqueViolation(err))
}

// keyHolder names the open task holding key, "" when there is none (it
// closed since the write was refused).
func (r *Repo) keyHolder(ctx context.Context, key string) (string, error) {
	var oids []string
	err := r.db.WithContext(ctx).Model(&taskRow{}).
		Where("unique_key = ? AND execution_state <> ?", key, string(task.Closed)).
		Limit(1).Pluck("oid", &oids).Error
	if err != nil || len(oids) == 0 {
		return "", err
	}
	return oids[0], nil
}

// withKey runs write, which stores a task holding key, and turns a refusal
// by the unique index into a *task.DuplicateKeyError naming the holder. If
// the holder closed meanwhile, write is tried again.
func (r *Repo) withKey(ctx context.Context, key func() string, write func() error) error {
	for range keyRetries {
		err := write()
		if !isKeyViolation(key(), err) {
			return err
		}
		holder, lookupErr := r.keyHolder(ctx, key())
		if lookupErr != nil {
			return fmt.Errorf("find the task holding unique key %q: %w", key(), lookupErr)
		}
		if holder != "" {
			return &task.DuplicateKeyError{Key: key(), OID: holder}
		}
	}
	return fmt.Errorf("unique key %q: %w", key(), task.ErrDuplicateKey)
}
