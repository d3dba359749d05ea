package pglock_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"cadre/db"
	"cadre/db/dbtest"
	"cadre/infrastructure/pglock"
)

func setup(t *testing.T) (*db.DB, *pglock.Probe) {
	t.Helper()
	d, err := db.Open(t.Context(), db.Options{URL: dbtest.Postgres(t), MaxPoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	sqlDB, err := d.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	return d, pglock.NewProbe(sqlDB)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHolderAndProbe: a held lock is not free to the probe, the probe never
// keeps it from its holder, a terminated holder session is re-taken, and
// Stop frees the lock.
func TestHolderAndProbe(t *testing.T) {
	d, probe := setup(t)
	const key, other = int64(4711), int64(4712)
	h := pglock.NewHolder(d.DSN, key, slog.New(slog.DiscardHandler))
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lock to be taken", h.Held)
	free := func() []int64 {
		f, err := probe.FreeLocks(context.Background(), []int64{key, other})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for range 20 { // probing takes and releases at once: the holder keeps it, the free key stays free
		if got := free(); !slices.Equal(got, []int64{other}) {
			t.Fatalf("free locks %v; want only %d", got, other)
		}
	}

	var cut int
	if err := d.Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND ((classid::bigint << 32) | objid::bigint) = ?`, key).Scan(&cut).Error; err != nil {
		t.Fatal(err)
	}
	if cut != 1 {
		t.Fatalf("terminated %d holder sessions, want 1", cut)
	}
	waitFor(t, "the lock to be re-taken", func() bool { return h.Takes() == 2 && h.Held() })
	if got := free(); slices.Contains(got, key) {
		t.Fatalf("free locks %v after the re-take", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lock to be free after Stop", func() bool { return slices.Contains(free(), key) })
}
