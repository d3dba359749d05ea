package cluster_test

import (
	"strconv"
	"strings"
	"testing"

	"cadre/domain/cluster"
)

func TestExpandNodeID(t *testing.T) {
	env := map[string]string{"POD": "cadre-2", "ZONE": "eu"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name string
		expr string
		want string            // the expanded id, or
		seq  *cluster.Sequence // a sequence to pick from, or
		err  string            // an error containing this
	}{
		{name: "plain id", expr: "node1", want: "node1"},
		{name: "environment variable", expr: "${env:POD}", want: "cadre-2"},
		{name: "sys is read from the environment too", expr: "${sys:ZONE}-node", want: "eu-node"},
		{name: "text around expressions", expr: "n-${env:ZONE}-${hostname:}", want: "n-eu-host7"},
		{name: "hostname", expr: "${hostname:}", want: "host7"},
		{name: "random in a one-number range", expr: "r${random:number:5:5}", want: "r5"},
		{name: "unset variable", expr: "${env:MISSING}", err: "MISSING is not set"},
		{name: "unclosed", expr: "node-${env:POD", err: "unclosed ${"},
		{name: "unknown expression", expr: "${uuid:}", err: "unknown expression ${uuid:}"},
		{name: "expands to nothing", expr: "", err: "expands to nothing"},
		{name: "random range reversed", expr: "${random:number:9:1}", err: "random needs number:lo:hi"},
		{name: "random negative", expr: "${random:number:-1:5}", err: "random needs number:lo:hi"},
		{name: "random range too wide", expr: "${random:number:0:" + strconv.Itoa(cluster.MaxSequence) + "}", err: "at most"},
		{name: "sequence defaults", expr: "${sequence:}", seq: &cluster.Sequence{Start: 0, End: 100, Format: "%d"}},
		{name: "sequence with format and surrounding text", expr: "${env:ZONE}-${sequence:1:3:node%02d}.x",
			seq: &cluster.Sequence{Start: 1, End: 3, Format: "eu-node%02d.x"}},
		{name: "sequence format may hold colons", expr: "${sequence:0:9:a:%d}", seq: &cluster.Sequence{Start: 0, End: 9, Format: "a:%d"}},
		{name: "sequence bad start", expr: "${sequence:x:3}", err: "bad sequence start"},
		{name: "sequence end before start", expr: "${sequence:5:1}", err: "sequence needs start:end"},
		{name: "sequence too long", expr: "${sequence:0:" + strconv.Itoa(cluster.MaxSequence) + "}", err: "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, seq, err := cluster.ExpandNodeID(tt.expr, getenv, "host7")
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ExpandNodeID(%q) = %q, %v, %v; want an error with %q", tt.expr, got, seq, err, tt.err)
				}
			case err != nil:
				t.Fatalf("ExpandNodeID(%q): %v", tt.expr, err)
			case tt.seq != nil:
				if seq == nil || *seq != *tt.seq || got != "" {
					t.Fatalf("ExpandNodeID(%q) = %q, %+v; want sequence %+v", tt.expr, got, seq, *tt.seq)
				}
			default:
				if got != tt.want || seq != nil {
					t.Fatalf("ExpandNodeID(%q) = %q, %+v; want %q", tt.expr, got, seq, tt.want)
				}
			}
		})
	}
}

// TestRandomNodeIDStaysInRange: every draw of ${random:number:lo:hi} is a
// number in [lo, hi].
func TestRandomNodeIDStaysInRange(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		got, _, err := cluster.ExpandNodeID("${random:number:10:13}", nil, "h")
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(got)
		if err != nil || n < 10 || n > 13 {
			t.Fatalf("random id %q is not a number in [10, 13]", got)
		}
		seen[n] = true
	}
	if len(seen) < 2 {
		t.Fatalf("200 draws gave only %v", seen)
	}
}

func TestSequenceCandidate(t *testing.T) {
	s := cluster.Sequence{Start: 1, End: 3, Format: "eu-node%02d"}
	if got := s.Candidate(7); got != "eu-node07" {
		t.Fatalf("Candidate(7) = %q, want eu-node07", got)
	}
}
