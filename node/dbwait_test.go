package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"cadre/db"
	"cadre/infrastructure/config"
)

// refused is a PostgreSQL URL where nothing listens: every attempt is refused at once.
const refused = "jdbc:postgresql://127.0.0.1:1/cadre"

// syncBuffer is a log destination the test may read while the opener writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// outcome is what an opener did: its error, how long it took, its log and
// how often it waited before another attempt.
type outcome struct {
	err   error
	took  time.Duration
	logs  string
	waits int
}

// tryOpen opens url with a waitingOpener of the given bound.
func tryOpen(ctx context.Context, t *testing.T, bound time.Duration, url string) outcome {
	t.Helper()
	var logs syncBuffer
	waits := 0
	open := waitingOpener(bound, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), func() { waits++ }, func() {})
	start := time.Now()
	d, err := open(ctx, "repository/jdbcUrl", db.Options{URL: url})
	if d != nil {
		d.Close()
		t.Fatalf("opened %s", url)
	}
	return outcome{err: err, took: time.Since(start), logs: logs.String(), waits: waits}
}

// TestWaitingOpenerBound: an unreachable database is tried again with a
// growing delay until the bound, and the error then names the key and the
// bound and still says the database was unreachable (exit status 3).
func TestWaitingOpenerBound(t *testing.T) {
	o := tryOpen(context.Background(), t, 1200*time.Millisecond, refused)
	err, took, logs, waits := o.err, o.took, o.logs, o.waits
	if !errors.Is(err, db.ErrUnreachable) || ExitStatus(err) != ExitDatabaseUnreachable {
		t.Fatalf("err %v, want one wrapping db.ErrUnreachable", err)
	}
	for _, want := range []string{"repository/jdbcUrl", "initializationFailTimeout=1.2s", "127.0.0.1:1/cadre"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if took < 1200*time.Millisecond || took > 3*time.Second {
		t.Errorf("gave up after %v, want a little over 1.2s", took)
	}
	// 100, 200, 400, 500 ms and the rest of the bound: five waits.
	if waits < 4 || waits > 6 {
		t.Errorf("%d waits, want about 5 (backoff from 100 ms, capped at 500 ms)", waits)
	}
	if n := strings.Count(logs, "level=WARN"); n < 1 || n > 2 {
		t.Errorf("%d warnings in 1.2s, want at most one a second:\n%s", n, logs)
	}
	if n := strings.Count(logs, "waiting for it"); n != waits {
		t.Errorf("%d attempts logged, want each of the %d:\n%s", n, waits, logs)
	}
}

// TestWaitingOpenerOnce: a bound of 0 tries once, as HikariCP does.
func TestWaitingOpenerOnce(t *testing.T) {
	o := tryOpen(context.Background(), t, 0, refused)
	if !errors.Is(o.err, db.ErrUnreachable) || o.waits != 0 || o.took > time.Second {
		t.Fatalf("err %v after %v and %d waits, want unreachable at once", o.err, o.took, o.waits)
	}
}

// TestWaitingOpenerStops: cancelling the context (SIGTERM) ends an unbounded
// wait promptly, and a configuration mistake is not waited for at all.
func TestWaitingOpenerStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	o := tryOpen(ctx, t, config.WaitForever, refused)
	if !errors.Is(o.err, context.DeadlineExceeded) || o.took > 1500*time.Millisecond {
		t.Fatalf("err %v after %v, want the context's error soon after 700ms", o.err, o.took)
	}

	o = tryOpen(context.Background(), t, config.WaitForever, "jdbc:sqlite:/nonexistent-cadre-dir/sub/cadre.db")
	var ke *config.KeyError
	if !errors.As(o.err, &ke) || ke.Key != "repository/jdbcUrl" || o.waits != 0 || o.took > time.Second {
		t.Fatalf("err %v after %v and %d waits, want a repository/jdbcUrl key error at once", o.err, o.took, o.waits)
	}
}

// TestRemainingBound: a build started over waits only for what is left of
// initializationFailTimeout, while one attempt (0) and no bound (negative)
// stay what they are.
func TestRemainingBound(t *testing.T) {
	start := time.Now().Add(-1500 * time.Millisecond)
	if got := remaining(4*time.Second, start); got < 2*time.Second || got > 2500*time.Millisecond {
		t.Errorf("remaining of 4s after 1.5s = %s, want about 2.5s", got)
	}
	if got := remaining(time.Second, start); got != time.Millisecond {
		t.Errorf("remaining of 1s after 1.5s = %s, want the 1ms floor", got)
	}
	for _, bound := range []time.Duration{0, config.WaitForever} {
		if got := remaining(bound, start); got != bound {
			t.Errorf("remaining(%s) = %s, want it unchanged", bound, got)
		}
	}
}
