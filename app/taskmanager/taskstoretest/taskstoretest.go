// Package taskstoretest is the conformance suite of taskmanager.TaskStore's
// bucket operations: every store runs it, on every database it supports, so
// a new backend has the claiming and fencing rules to prove itself against.
package taskstoretest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"cadre/app/taskmanager"
	"cadre/domain/task"
)

// Option configures Run.
type Option func(*options)

type options struct {
	peer func(t *testing.T, s taskmanager.TaskStore) taskmanager.TaskStore
}

// WithPeer gives the suite a second store on the same database as s, with
// its own connections, as another node has: concurrent claims and fencing
// after a reclaim are then proved between the two. Without it, the suite
// uses s for both.
func WithPeer(peer func(t *testing.T, s taskmanager.TaskStore) taskmanager.TaskStore) Option {
	return func(o *options) { o.peer = peer }
}

// Run runs the suite; newStore returns an empty, ready store per test.
func Run(t *testing.T, newStore func(t *testing.T) taskmanager.TaskStore, opts ...Option) {
	o := options{peer: func(_ *testing.T, s taskmanager.TaskStore) taskmanager.TaskStore { return s }}
	for _, opt := range opts {
		opt(&o)
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s, peer taskmanager.TaskStore)
	}{
		{"a claim takes up to its limit in seq order at epoch+1", claimBatch},
		{"concurrent claimers never share a bucket", claimConcurrent},
		{"no READY bucket claims nothing", claimNone},
		{"completions count only at the epoch that holds the bucket", completeFenced},
		{"after another node reclaims, the first holder's completions are fenced", fencedAfterReclaim},
		{"a released bucket is claimed again at a higher epoch", releaseReclaim},
		{"counts sum items and errors of every state", counts},
		{"a retry release counts only at the epoch that holds the bucket", retryFenced},
		{"claims pass over a bucket until its retry time", retryNotBefore},
		{"checkpoints are written only at the epoch that holds the bucket", checkpointFenced},
		{"a reclaimed bucket resumes from its checkpoint, counted once", checkpointReclaim},
		{"a standalone checkpoint is fenced by the run and moves progress", taskCheckpoint},
		{"completions count exactly when Bucket.Complete accepts them", completeAsDomain},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, s, o.peer(t, s))
		})
	}
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// coordinator adds a coordinator task with n numeric buckets.
func coordinator(t *testing.T, s taskmanager.TaskStore, n int) string {
	t.Helper()
	ctx := context.Background()
	oid := fmt.Sprintf("00000000-0000-0000-0000-%012d", time.Now().UnixNano()%1e12)
	c := &task.Task{OID: oid, Name: "coord " + oid, Handler: "noop", Role: task.Coordinator, State: task.Waiting,
		Result: task.InProgress, Version: 1, CreatedAt: t0, ModifiedAt: t0, Params: map[string]any{}}
	if err := s.TasksAdd(ctx, c); err != nil {
		t.Fatal(err)
	}
	contents := make([]task.Content, n)
	for i := range contents {
		from, to := int64(i), int64(i+1)
		contents[i] = task.Content{From: &from, To: &to}
	}
	if err := s.BucketsCreate(ctx, oid, contents); err != nil {
		t.Fatal(err)
	}
	return oid
}

func claim(t *testing.T, s taskmanager.TaskStore, oid, worker, node string, limit int) []task.Bucket {
	t.Helper()
	bs, err := s.BucketsClaim(context.Background(), taskmanager.BucketsClaimParams{TaskOID: oid, Worker: worker, Node: node, Now: t0, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func claimBatch(t *testing.T, s, _ taskmanager.TaskStore) {
	oid := coordinator(t, s, 10)
	first := claim(t, s, oid, "w1", "n1", 4)
	second := claim(t, s, oid, "w2", "n2", 0) // 0 means one
	if len(first) != 4 || len(second) != 1 {
		t.Fatalf("claimed %d and %d buckets, want 4 and 1", len(first), len(second))
	}
	for i, b := range first {
		if b.Seq != int64(i+1) || b.Epoch != 1 || b.State != task.BucketDelegated || b.Worker != "w1" || b.Node != "n1" {
			t.Fatalf("bucket %d of the first claim = %+v, want seq %d, epoch 1, delegated to w1 on n1", i, b, i+1)
		}
		if b.Content.From == nil || *b.Content.From != int64(i) {
			t.Fatalf("bucket %d content = %+v, want from %d", b.Seq, b.Content, i)
		}
	}
	if second[0].Seq != 5 {
		t.Fatalf("second claim took seq %d, want 5", second[0].Seq)
	}
	c, err := s.BucketsCount(context.Background(), oid)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ready != 5 || c.Delegated != 5 {
		t.Fatalf("counts = %+v, want 5 READY and 5 DELEGATED", c)
	}
}

func claimConcurrent(t *testing.T, s, peer taskmanager.TaskStore) {
	stores := []taskmanager.TaskStore{s, peer}
	const buckets, claimers = 300, 6
	oid := coordinator(t, s, buckets)
	var (
		mu   sync.Mutex
		seen = map[int64]string{}
		wg   sync.WaitGroup
		errs = make(chan error, claimers)
	)
	for i := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("w%d", i)
			for {
				bs, err := stores[i%2].BucketsClaim(context.Background(), taskmanager.BucketsClaimParams{TaskOID: oid, Worker: worker, Node: "n", Now: t0, Limit: 7})
				if err != nil {
					errs <- err
					return
				}
				if len(bs) == 0 {
					return
				}
				mu.Lock()
				for _, b := range bs {
					if other, dup := seen[b.Seq]; dup {
						errs <- fmt.Errorf("bucket %d claimed by %s and %s", b.Seq, other, worker)
					}
					seen[b.Seq] = worker
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != buckets {
		t.Fatalf("%d buckets claimed, want all %d", len(seen), buckets)
	}
}

func claimNone(t *testing.T, s, _ taskmanager.TaskStore) {
	oid := coordinator(t, s, 2)
	claim(t, s, oid, "w1", "n1", 10)
	if bs := claim(t, s, oid, "w2", "n1", 10); len(bs) != 0 {
		t.Fatalf("claimed %d buckets with none READY", len(bs))
	}
}

func completeFenced(t *testing.T, s, _ taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, s, 3)
	bs := claim(t, s, oid, "w1", "n1", 3)
	cs := []taskmanager.BucketCompletion{
		{TaskOID: oid, Seq: bs[0].Seq, Epoch: bs[0].Epoch, Items: 5},
		{TaskOID: oid, Seq: bs[1].Seq, Epoch: bs[1].Epoch + 7, Items: 5}, // not the holder's epoch
		{TaskOID: oid, Seq: bs[2].Seq, Epoch: bs[2].Epoch, Items: 2, Errors: 1},
	}
	ok, err := s.BucketsComplete(ctx, cs, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ok) != 3 || !ok[0] || ok[1] || !ok[2] {
		t.Fatalf("counted = %v, want [true false true]", ok)
	}
	// A second completion of the same bucket at the same epoch is fenced too.
	again, err := s.BucketsComplete(ctx, cs[:1], t0)
	if err != nil {
		t.Fatal(err)
	}
	if again[0] {
		t.Fatal("a bucket completed twice")
	}
	c, err := s.BucketsCount(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	if c.Complete != 2 || c.Delegated != 1 || c.Items != 7 || c.Errors != 1 {
		t.Fatalf("counts = %+v, want 2 COMPLETE, 1 DELEGATED, 7 items, 1 error", c)
	}
	if none, err := s.BucketsComplete(ctx, nil, t0); err != nil || len(none) != 0 {
		t.Fatalf("empty completion = %v, %v", none, err)
	}
}

func releaseReclaim(t *testing.T, s, _ taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, s, 4)
	old := claim(t, s, oid, "w1", "dead", 2)
	claim(t, s, oid, "w2", "alive", 1)
	n, err := s.BucketsReleaseNode(ctx, "dead")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("released %d buckets of the dead node, want 2", n)
	}
	again := claim(t, s, oid, "w3", "alive", 10)
	if len(again) != 3 || again[0].Seq != old[0].Seq || again[0].Epoch != old[0].Epoch+1 {
		t.Fatalf("reclaim = %+v, want 3 buckets starting with seq %d at epoch %d", again, old[0].Seq, old[0].Epoch+1)
	}
	// The dead node's late completion is refused; the new holder's counts.
	ok, err := s.BucketsComplete(ctx, []taskmanager.BucketCompletion{
		{TaskOID: oid, Seq: old[0].Seq, Epoch: old[0].Epoch, Items: 1},
		{TaskOID: oid, Seq: again[0].Seq, Epoch: again[0].Epoch, Items: 1},
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ok[0] || !ok[1] {
		t.Fatalf("counted = %v, want the stale epoch fenced and the new one counted", ok)
	}
	n, err = s.BucketsReleaseWorker(ctx, "w3")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("released %d buckets of worker w3, want its 2 unfinished ones", n)
	}
	list, err := s.BucketsList(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	completions := 0
	for _, b := range list {
		if b.State == task.BucketComplete {
			completions++
		}
	}
	if completions != 1 {
		t.Fatalf("%d buckets COMPLETE, want 1", completions)
	}
}

func counts(t *testing.T, s, _ taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, s, 5)
	bs := claim(t, s, oid, "w", "n", 2)
	if _, err := s.BucketsComplete(ctx, []taskmanager.BucketCompletion{{TaskOID: oid, Seq: bs[0].Seq, Epoch: bs[0].Epoch, Items: 10, Errors: 2}}, t0); err != nil {
		t.Fatal(err)
	}
	c, err := s.BucketsCount(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	want := taskmanager.BucketCounts{Ready: 3, Delegated: 1, Complete: 1, Items: 10, Errors: 2}
	if c != want {
		t.Fatalf("counts = %+v, want %+v", c, want)
	}
	if _, err := s.BucketsCount(ctx, "no-such-task"); err != nil && !errors.Is(err, task.ErrNotFound) {
		t.Fatalf("counting an unknown task: %v", err)
	}
}

func bucket(t *testing.T, s taskmanager.TaskStore, oid string, seq int64) task.Bucket {
	t.Helper()
	list, err := s.BucketsList(context.Background(), oid)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		if b.Seq == seq {
			return b
		}
	}
	t.Fatalf("bucket %d of %s not found", seq, oid)
	return task.Bucket{}
}

func retryFenced(t *testing.T, s, _ taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, s, 2)
	bs := claim(t, s, oid, "w1", "n1", 2)
	stale := taskmanager.BucketRetry{TaskOID: oid, Seq: bs[0].Seq, Epoch: bs[0].Epoch + 1, Error: "boom", NotBefore: t0}
	if ok, err := s.BucketsRetry(ctx, stale); err != nil || ok {
		t.Fatalf("retry at a stale epoch = %v, %v; want fenced", ok, err)
	}
	r := taskmanager.BucketRetry{TaskOID: oid, Seq: bs[0].Seq, Epoch: bs[0].Epoch, Error: "boom", NotBefore: t0}
	if ok, err := s.BucketsRetry(ctx, r); err != nil || !ok {
		t.Fatalf("retry at the holder's epoch = %v, %v; want released", ok, err)
	}
	b := bucket(t, s, oid, bs[0].Seq)
	if b.State != task.BucketReady || b.Attempts != 1 || b.LastError != "boom" || b.Worker != "" || b.Node != "" {
		t.Fatalf("released bucket = %+v, want READY, 1 attempt, last error boom, no worker", b)
	}
	// Released, it can no longer be released or completed at that epoch.
	if ok, err := s.BucketsRetry(ctx, r); err != nil || ok {
		t.Fatalf("second retry release = %v, %v; want fenced", ok, err)
	}
	if ok, err := s.BucketsComplete(ctx, []taskmanager.BucketCompletion{{TaskOID: oid, Seq: r.Seq, Epoch: r.Epoch, Items: 1}}, t0); err != nil || ok[0] {
		t.Fatalf("completion after the retry release = %v, %v; want fenced", ok, err)
	}
	// The retry claims it at the next epoch; its completion counts the
	// second attempt, and a failed last attempt leaves its error.
	again := claim(t, s, oid, "w2", "n2", 1)
	if len(again) != 1 || again[0].Seq != r.Seq || again[0].Epoch != r.Epoch+1 || again[0].Attempts != 1 {
		t.Fatalf("retry claim = %+v, want seq %d at epoch %d with 1 attempt", again, r.Seq, r.Epoch+1)
	}
	cs := []taskmanager.BucketCompletion{
		{TaskOID: oid, Seq: again[0].Seq, Epoch: again[0].Epoch, Items: 1},
		{TaskOID: oid, Seq: bs[1].Seq, Epoch: bs[1].Epoch, Items: 0, Errors: 1, Error: "bad bucket"},
	}
	if ok, err := s.BucketsComplete(ctx, cs, t0); err != nil || !ok[0] || !ok[1] {
		t.Fatalf("completions = %v, %v; want both counted", ok, err)
	}
	if b := bucket(t, s, oid, again[0].Seq); b.Attempts != 2 || b.LastError != "boom" {
		t.Fatalf("retried bucket = %+v, want 2 attempts, last error boom", b)
	}
	if b := bucket(t, s, oid, bs[1].Seq); b.Attempts != 1 || b.LastError != "bad bucket" {
		t.Fatalf("failed bucket = %+v, want 1 attempt, last error \"bad bucket\"", b)
	}
}

func retryNotBefore(t *testing.T, s, _ taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, s, 2)
	bs := claim(t, s, oid, "w1", "n1", 1)
	retryAt := t0.Add(time.Minute)
	if ok, err := s.BucketsRetry(ctx, taskmanager.BucketRetry{TaskOID: oid, Seq: bs[0].Seq, Epoch: bs[0].Epoch, Error: "boom", NotBefore: retryAt}); err != nil || !ok {
		t.Fatalf("retry release = %v, %v", ok, err)
	}
	// Bucket 1 waits: a claim takes bucket 2 although 1 has the lower seq.
	if next := claim(t, s, oid, "w2", "n1", 5); len(next) != 1 || next[0].Seq != 2 {
		t.Fatalf("claim before the retry time = %+v, want only bucket 2", next)
	}
	if none := claim(t, s, oid, "w2", "n1", 5); len(none) != 0 {
		t.Fatalf("claimed %+v before its retry time", none)
	}
	at, ok, err := s.BucketsReadyAt(ctx, oid)
	if err != nil || !ok || !at.Equal(retryAt) {
		t.Fatalf("ready at = %v, %v, %v; want %v", at, ok, err, retryAt)
	}
	late, err := s.BucketsClaim(ctx, taskmanager.BucketsClaimParams{TaskOID: oid, Worker: "w3", Node: "n2", Now: retryAt, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(late) != 1 || late[0].Seq != 1 || late[0].Epoch != bs[0].Epoch+1 {
		t.Fatalf("claim at the retry time = %+v, want bucket 1 at epoch %d", late, bs[0].Epoch+1)
	}
	if _, ok, err := s.BucketsReadyAt(ctx, oid); err != nil || ok {
		t.Fatalf("ready at with no READY bucket: ok %v, err %v", ok, err)
	}
}

func checkpointFenced(t *testing.T, s, _ taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, s, 1)
	bs := claim(t, s, oid, "w1", "n1", 1)
	cp := task.Checkpoint{Items: 40, Errors: 1, Position: "40"}
	if ok, err := s.BucketsCheckpoint(ctx, taskmanager.BucketCheckpoint{TaskOID: oid, Seq: bs[0].Seq, Epoch: bs[0].Epoch + 1, Checkpoint: cp}); err != nil || ok {
		t.Fatalf("checkpoint at a stale epoch = %v, %v; want fenced", ok, err)
	}
	if b := bucket(t, s, oid, bs[0].Seq); b.Checkpoint != nil || b.ItemsProcessed != 0 {
		t.Fatalf("a fenced checkpoint changed the bucket: %+v", b)
	}
	if ok, err := s.BucketsCheckpoint(ctx, taskmanager.BucketCheckpoint{TaskOID: oid, Seq: bs[0].Seq, Epoch: bs[0].Epoch, Checkpoint: cp}); err != nil || !ok {
		t.Fatalf("checkpoint at the holder's epoch = %v, %v", ok, err)
	}
	b := bucket(t, s, oid, bs[0].Seq)
	if b.Checkpoint == nil || *b.Checkpoint != cp || b.State != task.BucketDelegated {
		t.Fatalf("bucket after a checkpoint = %+v, want checkpoint %+v, still DELEGATED", b, cp)
	}
	// The checkpoint's items show in the task's progress while it runs.
	if c, err := s.BucketsCount(ctx, oid); err != nil || c.Items != 40 || c.Errors != 1 {
		t.Fatalf("counts = %+v, %v; want the checkpoint's 40 items and 1 error", c, err)
	}
}

func checkpointReclaim(t *testing.T, s, _ taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, s, 1)
	old := claim(t, s, oid, "w1", "dead", 1)
	if old[0].Checkpoint != nil || old[0].ResumedFrom != nil {
		t.Fatalf("first claim = %+v, want no checkpoint", old[0])
	}
	cp := task.Checkpoint{Items: 30, Position: "30"}
	if ok, err := s.BucketsCheckpoint(ctx, taskmanager.BucketCheckpoint{TaskOID: oid, Seq: old[0].Seq, Epoch: old[0].Epoch, Checkpoint: cp}); err != nil || !ok {
		t.Fatalf("checkpoint = %v, %v", ok, err)
	}
	if _, err := s.BucketsReleaseNode(ctx, "dead"); err != nil {
		t.Fatal(err)
	}
	again := claim(t, s, oid, "w2", "alive", 1)
	if len(again) != 1 || again[0].Checkpoint == nil || *again[0].Checkpoint != cp || again[0].ResumedFrom == nil || *again[0].ResumedFrom != cp {
		t.Fatalf("reclaim = %+v, want checkpoint and resumedFrom %+v", again, cp)
	}
	if b := bucket(t, s, oid, old[0].Seq); b.ResumedFrom == nil || *b.ResumedFrom != cp {
		t.Fatalf("listed bucket = %+v, want resumedFrom %+v", b, cp)
	}
	// The dead holder's checkpoint and completion are fenced; the new holder
	// completes with the items before and after the checkpoint.
	if ok, err := s.BucketsCheckpoint(ctx, taskmanager.BucketCheckpoint{TaskOID: oid, Seq: old[0].Seq, Epoch: old[0].Epoch, Checkpoint: task.Checkpoint{Items: 45}}); err != nil || ok {
		t.Fatalf("dead holder's checkpoint = %v, %v; want fenced", ok, err)
	}
	ok, err := s.BucketsComplete(ctx, []taskmanager.BucketCompletion{
		{TaskOID: oid, Seq: old[0].Seq, Epoch: old[0].Epoch, Items: 100},
		{TaskOID: oid, Seq: again[0].Seq, Epoch: again[0].Epoch, Items: 100},
	}, t0)
	if err != nil || ok[0] || !ok[1] {
		t.Fatalf("completions = %v, %v; want the dead holder's fenced", ok, err)
	}
	if c, err := s.BucketsCount(ctx, oid); err != nil || c.Items != 100 || c.Complete != 1 {
		t.Fatalf("counts = %+v, %v; want 100 items in 1 COMPLETE bucket", c, err)
	}
}

func taskCheckpoint(t *testing.T, s, _ taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, s, 1) // any task row will do
	run, err := s.TasksUpdate(ctx, oid, func(tk *task.Task) error {
		tk.State, tk.Node, tk.RunCount = task.Running, "n1", 3
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cp := task.Checkpoint{Items: 20, Errors: 2, Position: "row 20"}
	for _, stale := range []taskmanager.TaskCheckpoint{
		{OID: oid, Node: "n2", RunCount: run.RunCount, Checkpoint: cp, Items: 20, Errors: 2},
		{OID: oid, Node: "n1", RunCount: run.RunCount - 1, Checkpoint: cp, Items: 20, Errors: 2},
	} {
		if ok, err := s.TasksCheckpoint(ctx, stale); err != nil || ok {
			t.Fatalf("checkpoint of another run %+v = %v, %v; want fenced", stale, ok, err)
		}
	}
	c := taskmanager.TaskCheckpoint{OID: oid, Node: "n1", RunCount: run.RunCount, Checkpoint: cp, Items: 20, Errors: 2}
	if ok, err := s.TasksCheckpoint(ctx, c); err != nil || !ok {
		t.Fatalf("checkpoint of the run = %v, %v", ok, err)
	}
	got, err := s.TasksGet(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	if got.Checkpoint == nil || *got.Checkpoint != cp || got.Progress.ItemsProcessed != 20 || got.Progress.Errors != 2 {
		t.Fatalf("task after checkpoint = checkpoint %+v, progress %+v; want %+v and 20 items, 2 errors", got.Checkpoint, got.Progress, cp)
	}
}

// fencedAfterReclaim: node A claims; node B (the peer) releases A's buckets,
// as when A is declared dead, and claims them again. A's late completions
// are fenced and B's count, each bucket once.
func fencedAfterReclaim(t *testing.T, nodeA, nodeB taskmanager.TaskStore) {
	ctx := context.Background()
	oid := coordinator(t, nodeA, 3)
	held := claim(t, nodeA, oid, "wa", "A", 3)
	if n, err := nodeB.BucketsReleaseNode(ctx, "A"); err != nil || n != 3 {
		t.Fatalf("B releases %d of A's buckets, %v; want 3", n, err)
	}
	again := claim(t, nodeB, oid, "wb", "B", 3)
	if len(held) != 3 || len(again) != 3 {
		t.Fatalf("A claimed %d and B reclaimed %d buckets; want 3 and 3", len(held), len(again))
	}
	complete := func(s taskmanager.TaskStore, bs []task.Bucket) []bool {
		cs := make([]taskmanager.BucketCompletion, len(bs))
		for i, b := range bs {
			cs[i] = taskmanager.BucketCompletion{TaskOID: oid, Seq: b.Seq, Epoch: b.Epoch, Items: 1}
		}
		ok, err := s.BucketsComplete(ctx, cs, t0)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if ok := complete(nodeA, held); fmt.Sprint(ok) != "[false false false]" {
		t.Fatalf("A's late completions counted %v, want all fenced", ok)
	}
	if ok := complete(nodeB, again); fmt.Sprint(ok) != "[true true true]" {
		t.Fatalf("B's completions counted %v, want all", ok)
	}
	c, err := nodeA.BucketsCount(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	if c.Complete != 3 || c.Items != 3 {
		t.Fatalf("counts = %+v, want 3 COMPLETE with 3 items: each bucket counted once", c)
	}
}
