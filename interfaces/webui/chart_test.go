package webui

import (
	"strings"
	"testing"
	"time"

	"cadre/domain/task"
)

func TestBucketRateChart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) *time.Time { v := t0.Add(time.Duration(ms) * time.Millisecond); return &v }
	b := func(node string, claimed, completed int) task.Bucket {
		bk := task.Bucket{Node: node, State: task.BucketComplete, ClaimedAt: at(claimed), CompletedAt: at(completed)}
		return bk
	}
	bs := []task.Bucket{
		b("node10", 0, 100), b("node10", 100, 200), b("node10", 200, 300), b("node10", 300, 400), // 4 in second 0
		b("node2", 0, 1500), b("node2", 1500, 2500), // 1 in second 1, 1 in second 2
		{Node: "node2", State: task.BucketDelegated, ClaimedAt: at(2600)},
		{State: task.BucketReady},
	}
	c := bucketRateChart(bs, t0.Add(3*time.Second), false)
	if c == nil {
		t.Fatal("no chart")
	}
	if len(c.Series) != 2 || c.Series[0].Name != "node2" || c.Series[1].Name != "node10" {
		t.Fatalf("series %+v, want node2 then node10", c.Series)
	}
	if c.Series[1].Total != 4 || c.Series[1].Peak != "4.0" || c.Series[0].Total != 2 || c.Series[0].Peak != "1.0" {
		t.Fatalf("totals and peaks: %+v", c.Series)
	}
	if c.YMax != "5" {
		t.Errorf("y axis to %s, want 5 (4 rounded up)", c.YMax)
	}
	// node10: 4/s at second 0, then nothing: starts at the top quarter, ends on the floor.
	if pts := strings.Fields(c.Series[1].Points); len(pts) != 3 || pts[0] != "0.0,32.0" || pts[2] != "600.0,160.0" {
		t.Errorf("node10 points %q", c.Series[1].Points)
	}
	if !strings.Contains(c.Summary, "node10 4 buckets, peak 4.0/s") {
		t.Errorf("summary %q", c.Summary)
	}
	if bucketRateChart([]task.Bucket{{State: task.BucketReady}}, t0, true) != nil {
		t.Error("a chart without any complete bucket")
	}
	// A long task gets wider bins, never more than chartMaxBins points.
	var long []task.Bucket
	for i := 0; i < 600; i++ {
		long = append(long, b("node1", i*1000, i*1000+500))
	}
	lc := bucketRateChart(long, t0, false)
	if n := len(strings.Fields(lc.Series[0].Points)); n > chartMaxBins+1 || lc.BinLabel != "per 10s" {
		t.Errorf("long task: %d points, %s", n, lc.BinLabel)
	}
}
