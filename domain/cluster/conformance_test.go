package cluster

import (
	"strings"
	"testing"
	"time"
)

func TestConformance(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	node := func(id, host string, clustered bool, startedAgo time.Duration) *Node {
		return &Node{ID: id, Hostname: host, Clustered: clustered, OperationalState: Up, SchedulerState: SchedulerRunning,
			LastCheckIn: now.Add(-time.Second), StartedAt: now.Add(-startedAgo), Timeout: 10 * time.Second}
	}
	dead := node("dead", "h9", true, time.Hour)
	dead.LastCheckIn = now.Add(-time.Minute)
	tests := []struct {
		name   string
		me     *Node
		others []*Node
		local  bool
		want   string // prefix of the reason; "" = conformant
	}{
		{"alone, not clustered", node("solo", "h1", false, time.Minute), nil, false, ""},
		{"clustered newcomer beside an older non-clustered node", node("n1", "h1", true, time.Second),
			[]*Node{node("solo", "h2", false, time.Hour)}, false, ""},
		{"non-clustered node that started first, once a clustered node is live", node("solo", "h2", false, time.Hour),
			[]*Node{node("n1", "h1", true, time.Second)}, false, ReasonNotClustered},
		{"second non-clustered node", node("b", "h2", false, time.Second),
			[]*Node{node("a", "h1", false, time.Hour)}, false, ReasonNotClustered},
		{"first non-clustered node beside a later one", node("a", "h1", false, time.Hour),
			[]*Node{node("b", "h2", false, time.Second)}, false, ""},
		{"the conflict is gone when the other is dead", node("solo", "h2", false, time.Hour), []*Node{dead}, false, ""},
		{"second node on one host", node("n2", "h1", true, time.Second),
			[]*Node{node("n1", "h1", true, time.Hour)}, false, ReasonIDConflict},
		{"first node on the host keeps running", node("n1", "h1", true, time.Hour),
			[]*Node{node("n2", "h1", true, time.Second)}, false, ""},
		{"local node clustering allows it", node("n2", "h1", true, time.Second),
			[]*Node{node("n1", "h1", true, time.Hour)}, true, ""},
		{"a starting node counts as the latest", &Node{ID: "new", Hostname: "h1", Clustered: true},
			[]*Node{node("n1", "h1", true, time.Hour)}, false, ReasonIDConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Conformance(tt.me, tt.others, now, 10*time.Second, tt.local)
			if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
				t.Fatalf("Conformance = %q; want prefix %q", got, tt.want)
			}
		})
	}
}

func TestLeaseAndWarnings(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	slow := &Node{ID: "slow", OperationalState: Up, LastCheckIn: now.Add(-15 * time.Second), Timeout: 30 * time.Second,
		Version: "1", Settings: map[string]string{SettingJobStore: "repository database", SettingClustered: "true"}}
	if !slow.CheckingIn(now, 3*time.Second) {
		t.Error("a node 15 s silent with a 30 s lease was judged by the judge's 3 s timeout")
	}
	old := &Node{ID: "old", OperationalState: Up, LastCheckIn: now.Add(-5 * time.Second), Version: "1"}
	if old.CheckingIn(now, 3*time.Second) || !old.CheckingIn(now, 10*time.Second) {
		t.Error("a row without a lease is not judged by the judge's timeout")
	}
	other := &Node{ID: "other", OperationalState: Up, LastCheckIn: now, Version: "1",
		Settings: map[string]string{SettingJobStore: "separate postgresql database db/jobs", SettingClustered: "true"}}
	w := Warnings(slow, []*Node{slow, other, old}, now, 10*time.Second)
	if len(w) != 1 || !strings.Contains(w[0], "job store") || !strings.Contains(w[0], "node other") {
		t.Fatalf("warnings %q; want one about the job store of node other (and none about old, which has no settings)", w)
	}
	if LivenessLockKey("node1") == LivenessLockKey("node2") || LivenessLockKey("node1") != LivenessLockKey("node1") {
		t.Error("liveness lock keys are not stable per node id")
	}
}
