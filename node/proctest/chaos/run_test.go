package chaos

import (
	"maps"
	"testing"
)

func TestParseRepairs(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		want  map[string]float64
		found bool
	}{
		{"absent", "# TYPE cadre_repairs_totally gauge\ncadre_repairs_totally 3\ncadre_buckets_fenced_total 1\n", map[string]float64{}, false},
		{"family without samples", "# HELP cadre_repairs_total Repairs.\n# TYPE cadre_repairs_total counter\n", map[string]float64{}, true},
		{"by kind, other labels too",
			"# TYPE cadre_repairs_total counter\n" +
				`cadre_repairs_total{kind="orphan_delegated_bucket",node="node1"} 2` + "\n" +
				`cadre_repairs_total{node="node1",kind="stuck_coordinator"} 1` + "\n" +
				`cadre_repairs_total{kind="orphan_delegated_bucket",node="node2"} 3` + "\n",
			map[string]float64{"orphan_delegated_bucket": 5, "stuck_coordinator": 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := ParseRepairs([]byte(tt.body))
			if found != tt.found || !maps.Equal(got, tt.want) {
				t.Fatalf("ParseRepairs = %v, %v; want %v, %v", got, found, tt.want, tt.found)
			}
		})
	}
}
