package webui

import (
	"strings"
	"testing"
	"time"
)

func TestClusterCharts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if a, b := clusterCharts([]ClusterSample{{At: t0}}); a != nil || b != nil {
		t.Fatal("charts from one sample")
	}
	samples := []ClusterSample{
		{At: t0, Seconds: 2, Completed: map[string]int64{"node1": 10}, Running: map[string]int64{"node1": 2, "node10": 1}},
		{At: t0.Add(2 * time.Second), Seconds: 2, Completed: map[string]int64{"node1": 40, "node10": 20}, Running: map[string]int64{"node1": 3, "node10": 3}},
		{At: t0.Add(4 * time.Second), Seconds: 2, Completed: map[string]int64{}, Running: map[string]int64{}},
	}
	tp, run := clusterCharts(samples)
	if tp == nil || run == nil || len(tp.Series) != 2 || tp.Series[0].Name != "node1" || tp.Series[1].Name != "node10" {
		t.Fatalf("charts: %+v %+v", tp, run)
	}
	if tp.Series[0].Note != "now 0.0/s, peak 20.0/s" || tp.YMax != "20" {
		t.Errorf("node1 throughput: %q, y to %s", tp.Series[0].Note, tp.YMax)
	}
	if run.Series[1].Note != "now 0.0, peak 3.0" || !strings.Contains(run.Summary, "last 4s") {
		t.Errorf("node10 running: %q; summary %q", run.Series[1].Note, run.Summary)
	}
	if got := strings.Fields(tp.Series[0].Points); len(got) != 3 || got[1] != "300.0,0.0" {
		t.Errorf("node1 points %q: the peak of 20/s should touch the top in the middle", tp.Series[0].Points)
	}
}
