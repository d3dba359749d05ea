package gormrepo_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/db/dbtest"
	"cadre/domain/object"
)

// TestChangeLogIsWrittenWithTheChange: a write the classifier picks leaves
// one change log row, in its own transaction (a refused change leaves
// none), that another pool reads after the seq it last saw; a change
// nobody else must act on leaves nothing.
func TestChangeLogIsWrittenWithTheChange(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dbs := newDatabases(dialect)
			r := dbs.fresh(t)
			other := dbs.peer(t, r)
			r.SetChangeLog("node1", auth.LogEffect)
			now := time.Now()
			u := &object.User{Meta: object.Meta{OID: "00000000-0000-0000-0000-000000000001", Name: "u1", Version: 1, CreatedAt: now, ModifiedAt: now}, Enabled: true}
			if err := r.Add(ctx, u); err != nil {
				t.Fatal(err)
			}
			disable := func(o object.Object) error { o.(*object.User).Enabled = false; return nil }
			if _, err := r.Modify(ctx, object.TypeUser, u.OID, 99, now, disable); err == nil {
				t.Fatal("a modify at a stale version succeeded")
			}
			lctx, seqs := repository.WithChangeSeqs(ctx)
			if _, err := r.Modify(lctx, object.TypeUser, u.OID, 0, now, disable); err != nil {
				t.Fatal(err)
			}
			entries, dbNow, err := other.ChangeLogAfter(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Fatalf("entries %+v; want one (the user add is nobody's business, the refused modify rolled back)", entries)
			}
			e := entries[0]
			if e.Effect != repository.EffectEnd || e.OID != u.OID || e.NodeID != "node1" || e.Seq != seqs.Of(u.OID) {
				t.Fatalf("entry %+v, recorded seq %d", e, seqs.Of(u.OID))
			}
			if lag := dbNow.Sub(e.At); lag < 0 || lag > time.Minute {
				t.Fatalf("entry at %s, database now %s", e.At, dbNow)
			}
			arch := &object.Archetype{Meta: object.Meta{OID: "00000000-0000-0000-0000-000000000002", Name: "a1", Version: 1, CreatedAt: now, ModifiedAt: now}}
			if err := r.Add(ctx, arch); err != nil {
				t.Fatal(err)
			}
			if err := r.Delete(ctx, object.TypeArchetype, arch.OID); err != nil {
				t.Fatal(err)
			}
			if err := r.Delete(ctx, object.TypeArchetype, arch.OID); !errors.Is(err, object.ErrNotFound) {
				t.Fatalf("second delete: %v", err)
			}
			entries, _, err = other.ChangeLogAfter(ctx, e.Seq, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 2 || entries[0].Effect != repository.EffectCache || entries[1].Seq <= entries[0].Seq {
				t.Fatalf("entries after %d: %+v; want the archetype's add and delete", e.Seq, entries)
			}
			if head, err := other.ChangeLogHead(ctx); err != nil || head != entries[1].Seq {
				t.Fatalf("head %d %v", head, err)
			}
			read, err := r.Get(ctx, object.TypeUser, u.OID)
			if err != nil {
				t.Fatal(err)
			}
			read.(*object.User).Enabled = true
			stale := &object.User{Meta: object.Meta{OID: "00000000-0000-0000-0000-000000000003", Name: "u3", Version: 1}, Enabled: true}
			bctx, batch := repository.WithChangeSeqs(ctx)
			written, err := r.WriteMany(bctx, []object.Object{read, stale}, now)
			if err != nil || !written[0] || written[1] {
				t.Fatalf("batch write: %v %v", written, err)
			}
			entries, _, err = other.ChangeLogAfter(ctx, entries[1].Seq, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Effect != repository.EffectRefresh || entries[0].Seq != batch.Of(u.OID) {
				t.Fatalf("entries of the batch write: %+v (recorded %d); want one refresh of the user written", entries, batch.Of(u.OID))
			}
			// Through the service, a batch write hands down the users as read:
			// a name change writes no row, a disabling writes "end".
			svc := repository.NewService(r, auth.BcryptHasher{Cost: 4}, nil, slog.Default())
			for _, tc := range []struct {
				change func(*object.User)
				want   int
			}{{func(u *object.User) { u.FullName = "Renamed" }, 0}, {func(u *object.User) { u.Enabled = false }, 1}} {
				head, _ := other.ChangeLogHead(ctx)
				o, err := r.Get(ctx, object.TypeUser, u.OID)
				if err != nil {
					t.Fatal(err)
				}
				before := *o.(*object.User)
				after := before
				tc.change(&after)
				if w, err := svc.WriteManySystem(ctx, []repository.Modified{{Before: &before, After: &after}}); err != nil || !w[0] {
					t.Fatalf("service batch write: %v %v", w, err)
				}
				entries, _, err := other.ChangeLogAfter(ctx, head, 10)
				if err != nil || len(entries) != tc.want || (tc.want == 1 && entries[0].Effect != repository.EffectEnd) {
					t.Fatalf("entries after the service's batch write: %+v %v; want %d", entries, err, tc.want)
				}
			}
			if n, err := other.ChangeLogPrune(ctx, dbNow.Add(time.Hour)); err != nil || n != 5 {
				t.Fatalf("pruned %d %v, want 5", n, err)
			}
		})
	}
}
