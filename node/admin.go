package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/db"
	"cadre/domain/object"
	"cadre/infrastructure/config"
	"cadre/infrastructure/gormrepo"
)

// ResetPassword sets the password of the user named username directly in the
// repository cfg points at, enables the user and ends their web sessions, so
// an administrator who lost the password can get back in. An empty password
// generates a random one; the password set is returned. It needs no running
// node and does not disturb running ones.
func ResetPassword(ctx context.Context, cfg *config.Config, log *slog.Logger, username, password string) (string, error) {
	d, err := db.Open(ctx, db.Options{URL: cfg.Repository.JDBCURL, Username: cfg.Repository.JDBCUsername,
		Password: cfg.Repository.JDBCPassword, MaxPoolSize: 2})
	if err != nil {
		return "", fmt.Errorf("repository: %w", err)
	}
	defer d.Close()
	set := db.RepositoryMigrations(d.Dialect)
	version, err := d.SchemaVersion(ctx, set)
	if err != nil {
		return "", fmt.Errorf("repository schema: %w", err)
	}
	if version == 0 {
		return "", fmt.Errorf("the repository at %s has no schema yet; start a node once (it creates the administrator)", cfg.Repository.JDBCURL)
	}
	store := gormrepo.New(d)
	o, err := store.GetByName(ctx, object.TypeUser, username)
	if errors.Is(err, object.ErrNotFound) {
		return "", fmt.Errorf("no user named %q in the repository at %s", username, cfg.Repository.JDBCURL)
	}
	if err != nil {
		return "", fmt.Errorf("read user %s: %w", username, err)
	}
	if password == "" {
		password = randomHex(12)
	}
	svc := repository.NewService(store, auth.BcryptHasher{}, time.Now, log)
	oid := o.ObjectMeta().OID
	_, err = svc.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeUser, OID: oid, Password: password,
		Apply: func(o object.Object) error {
			o.(*object.User).Enabled = true
			return nil
		}})
	if err != nil {
		return "", fmt.Errorf("set password of %s: %w", username, err)
	}
	if err := auth.NewService(store, store, "", time.Now).EndUserSessions(ctx, oid); err != nil {
		return "", fmt.Errorf("end sessions of %s: %w", username, err)
	}
	return password, nil
}
