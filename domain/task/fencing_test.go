package task_test

import (
	"errors"
	"testing"
	"time"

	"cadre/domain/task"
)

// TestBucketComplete is the fencing rule: only the holder of the bucket's
// current epoch completes it; any other completion leaves it untouched.
func TestBucketComplete(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		state  task.BucketState
		epoch  int64 // the bucket's
		by     int64 // the completing holder's
		fenced bool
	}{
		{"the current holder completes", task.BucketDelegated, 3, 3, false},
		{"a holder from before a reclaim is fenced", task.BucketDelegated, 3, 2, true},
		{"an epoch never handed out is fenced", task.BucketDelegated, 3, 4, true},
		{"a released bucket is fenced", task.BucketReady, 3, 3, true},
		{"a completed bucket completes once", task.BucketComplete, 3, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := task.Bucket{Seq: 7, State: tt.state, Epoch: tt.epoch, ItemsProcessed: 1}
			before := b
			err := b.Complete(tt.by, 42, at)
			if tt.fenced {
				if !errors.Is(err, task.ErrFenced) {
					t.Fatalf("Complete = %v, want ErrFenced", err)
				}
				if b.State != before.State || b.ItemsProcessed != before.ItemsProcessed || b.CompletedAt != nil || b.Epoch != before.Epoch {
					t.Fatalf("a fenced completion changed the bucket: %+v", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.State != task.BucketComplete || b.ItemsProcessed != 42 || b.CompletedAt == nil || !b.CompletedAt.Equal(at) || b.Epoch != tt.epoch {
				t.Fatalf("bucket after completion = %+v, want COMPLETE with 42 items at %s, epoch kept", b, at)
			}
		})
	}
}
