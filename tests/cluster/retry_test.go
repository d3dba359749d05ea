package cluster_test

import (
	"context"
	"testing"
	"time"

	"cadre/apiclient"
	"cadre/domain/task"
	"cadre/node/proctest"
)

// createRetrying creates a noop task through node1's API whose buckets (or,
// with buckets 0, whose run) fail their first failFirst attempts.
func (c *cluster) createRetrying(buckets, items, delayMs, failFirst, maxAttempts int, backoffMs int64) string {
	c.t.Helper()
	params := map[string]any{"itemsPerBucket": items, "items": items, "delayMs": delayMs, "failFirstAttempts": failFirst}
	in := apiclient.TaskCreate{Name: "retrying noop", Handler: "noop", Params: &params,
		Retry: &apiclient.Retry{MaxAttempts: maxAttempts, BackoffMs: &backoffMs}}
	if buckets > 0 {
		perNode := 2
		in.Bucketing, in.Workers = apiclient.NumericBucketing(0, int64(buckets), 1), &apiclient.Workers{PerNode: &perNode}
	}
	return c.admin(0).CreateTask(c.t, in).Oid
}

// assertAttempts checks every bucket finished after exactly n attempts.
func (c *cluster) assertAttempts(oid string, n int64) {
	c.t.Helper()
	for _, b := range c.buckets(oid) {
		if b.Attempts != n {
			c.t.Fatalf("bucket %d finished after %d attempts, want %d (last error %q)", b.Seq, b.Attempts, n, b.LastError)
		}
	}
}

// TestRetry runs DESIGN §4's retry on three real nodes: failed buckets and a
// failed run are tried again after their backoff, by whichever node takes
// them, and count as errors only after the last attempt; a node killed while
// buckets wait for (or run) their retry loses none and counts none twice.
func TestRetry(t *testing.T) {
	c := startCluster(t, 3)
	const buckets, items = 12, 5

	t.Run("buckets that fail once succeed on their second attempt", func(t *testing.T) {
		oid := c.createRetrying(buckets, items, 0, 1, 2, 100)
		coord := c.waitClosed(oid, 60*time.Second)
		if coord.Result != task.Success {
			t.Fatalf("result %s (%s), want SUCCESS", coord.Result, coord.Message)
		}
		c.assertExactlyOnce(oid, buckets, items)
		// As a user reads them: two attempts, the first one's error kept.
		for _, b := range c.bucketAPI(oid) {
			if b.Attempts == nil || *b.Attempts != 2 || b.LastError == nil || *b.LastError == "" {
				t.Fatalf("bucket %d: attempts %v, last error %v; want 2 and the first attempt's error", b.Seq, b.Attempts, b.LastError)
			}
		}
	})

	t.Run("with one attempt a failing bucket counts as an error", func(t *testing.T) {
		oid := c.createRetrying(buckets, items, 0, 1, 1, 0)
		coord := c.waitClosed(oid, 60*time.Second)
		if coord.Result != task.PartialError || coord.Progress.Errors != buckets {
			t.Fatalf("result %s with %d errors (%s), want PARTIAL_ERROR with %d", coord.Result, coord.Progress.Errors, coord.Message, buckets)
		}
		c.assertAttempts(oid, 1)
	})

	t.Run("a standalone run that fails once succeeds on its second attempt", func(t *testing.T) {
		oid := c.createRetrying(0, items, 0, 1, 2, 100)
		got := c.admin(0).WaitTaskClosed(t, oid, 60*time.Second)
		if got.ResultStatus != apiclient.TaskResultStatusSUCCESS || got.Attempts == nil || *got.Attempts != 2 {
			t.Fatalf("result %s after %v attempts, want SUCCESS after 2", got.ResultStatus, got.Attempts)
		}
		if got.Progress.ItemsProcessed != items || got.LastError == nil || *got.LastError == "" {
			t.Fatalf("progress %+v, last error %v; want %d items and the first attempt's error", got.Progress, got.LastError, items)
		}
	})

	t.Run("a node killed while buckets wait for their retry", func(t *testing.T) {
		const buckets = 30
		// A backoff long enough that the kill finds buckets waiting, and
		// slow enough buckets that some run their retry on the victim.
		oid := c.createRetrying(buckets, items, 20, 1, 2, 1500)
		victim := c.nodes[1]
		proctest.WaitFor(t, "buckets waiting for their retry while the victim holds one", 60*time.Second, func() bool {
			waiting, held := false, false
			for _, b := range c.buckets(oid) {
				waiting = waiting || (b.State == task.BucketReady && b.Attempts == 1)
				held = held || (b.State == task.BucketDelegated && b.Node == victim.NodeID)
			}
			return waiting && held
		})
		victim.Kill()
		coord := c.waitClosed(oid, 90*time.Second)
		if coord.Result != task.Success {
			t.Fatalf("result %s (%s), want SUCCESS", coord.Result, coord.Message)
		}
		// A death is not an attempt: a bucket cut short on the victim ran
		// again and still finished after its one failure and one success.
		c.assertExactlyOnce(oid, buckets, items)
		c.assertAttempts(oid, 2)
	})
}

// bucketAPI lists a task's buckets through node1's API, page by page.
func (c *cluster) bucketAPI(oid string) []apiclient.Bucket {
	c.t.Helper()
	var all []apiclient.Bucket
	params := &apiclient.ListBucketsParams{}
	for {
		r, err := c.admin(0).API(c.t).ListBucketsWithResponse(context.Background(), oid, params)
		if err != nil || r.JSON200 == nil {
			c.t.Fatalf("list buckets of %s: %v", oid, err)
		}
		all = append(all, r.JSON200.Items...)
		if r.JSON200.Next == nil {
			return all
		}
		params.After = r.JSON200.Next
	}
}
