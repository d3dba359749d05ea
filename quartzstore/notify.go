package quartzstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotifyChannel is the PostgreSQL channel a store notifies when a trigger is
// added or changed; the payload is the trigger's execution group.
const NotifyChannel = "cadre_qrtz_triggers"

// ErrListenUnsupported is returned by TriggersListen on a database without
// notifications (SQLite, which has one process anyway) or on a store built
// without SQLOptions.ListenDSN or Listen; the scheduler then
// relies on its polling and on in-process wakes.
var ErrListenUnsupported = errors.New("quartzstore: trigger notifications are not supported by this database")

// Listener is the optional capability of a store to tell every instance at
// once that a trigger was added or changed, so that a task created or pinned
// on one node starts on another within milliseconds instead of at its next
// poll. Polling stays the safety net: a missed notification costs at most
// one IdleWait.
type Listener interface {
	// TriggersListen calls notify with the execution group of every trigger
	// upserted anywhere, until ctx ends or the connection fails; it returns
	// ErrListenUnsupported at once where there are no notifications.
	TriggersListen(ctx context.Context, notify func(group string)) error
}

var _ Listener = (*SQLStore)(nil)

// notifySQL is run inside a trigger upsert's transaction, so the
// notification goes out exactly when the trigger becomes visible.
func (s *SQLStore) notifySQL() string {
	if s.dialect == Postgres {
		return "SELECT pg_notify('" + NotifyChannel + "', ?)"
	}
	return ""
}

// TriggersListen implements Listener on PostgreSQL with LISTEN on the
// caller's connection (SQLOptions.Listen) or on a dedicated one.
func (s *SQLStore) TriggersListen(ctx context.Context, notify func(group string)) error {
	if s.dialect != Postgres || (s.listenDSN == "" && s.listen == nil) {
		return ErrListenUnsupported
	}
	if s.listen != nil {
		return s.listen(ctx, NotifyChannel, notify)
	}
	conn, err := pgx.Connect(ctx, s.listenDSN)
	if err != nil {
		return fmt.Errorf("listen for triggers: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return fmt.Errorf("listen for triggers: %w", err)
	}
	notify("") // anything upserted while the connection was down
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("listen for triggers: %w", err)
		}
		notify(n.Payload)
	}
}
