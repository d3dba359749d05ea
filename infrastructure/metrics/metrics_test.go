package metrics_test

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cadre/app/taskmanager"
	"cadre/infrastructure/metrics"
)

var _ taskmanager.Metrics = (*metrics.Metrics)(nil)

const node = "node1"

func setup(t *testing.T) (*metrics.Metrics, func() string) {
	t.Helper()
	m := metrics.New(node)
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatalf("scrape: %v", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read scrape: %v", err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("scrape status %d: %s", resp.StatusCode, body)
		}
		return string(body)
	}
	return m, scrape
}

// series returns the exposition line of a series, without its value.
func series(name, labels string) string {
	if labels == "" {
		return fmt.Sprintf("%s{instance_node=%q}", name, node)
	}
	return fmt.Sprintf("%s{%s}", name, labels)
}

func TestExposition(t *testing.T) {
	tests := []struct {
		name     string
		act      func(m *metrics.Metrics)
		want     []string // whole lines that must appear
		contains []string // substrings that must appear (values that vary)
		absent   []string // substrings that must not appear
	}{
		{
			name: "bucket counters",
			act: func(m *metrics.Metrics) {
				m.BucketClaimed()
				m.BucketClaimed()
				m.BucketClaimed()
				m.BucketCompleted()
				m.BucketCompleted()
				m.BucketFenced()
			},
			want: []string{
				series("cadre_buckets_claimed_total", "") + " 3",
				series("cadre_buckets_completed_total", "") + " 2",
				series("cadre_buckets_fenced_total", "") + " 1",
			},
		},
		{
			name: "task runs and failures by handler",
			act: func(m *metrics.Metrics) {
				m.TaskRun("noop", false)
				m.TaskRun("noop", true)
				m.TaskRun("recompute", false)
			},
			want: []string{
				`cadre_task_runs_total{handler="noop",instance_node="node1"} 2`,
				`cadre_task_runs_total{handler="recompute",instance_node="node1"} 1`,
				`cadre_task_failures_total{handler="noop",instance_node="node1"} 1`,
			},
			absent: []string{`cadre_task_failures_total{handler="recompute"`},
		},
		{
			name: "scheduler lateness histogram",
			act: func(m *metrics.Metrics) {
				m.SchedulerLateness(500 * time.Microsecond)
				m.SchedulerLateness(200 * time.Millisecond)
				m.SchedulerLateness(-time.Second) // early: counted as 0
				m.SchedulerLateness(time.Minute)
			},
			want: []string{
				`cadre_scheduler_lateness_seconds_bucket{instance_node="node1",le="0.001"} 2`,
				`cadre_scheduler_lateness_seconds_bucket{instance_node="node1",le="0.25"} 3`,
				`cadre_scheduler_lateness_seconds_bucket{instance_node="node1",le="30"} 3`,
				`cadre_scheduler_lateness_seconds_bucket{instance_node="node1",le="+Inf"} 4`,
				`cadre_scheduler_lateness_seconds_count{instance_node="node1"} 4`,
				`cadre_scheduler_lateness_seconds_sum{instance_node="node1"} 60.2005`,
			},
		},
		{
			name: "node up and forget",
			act: func(m *metrics.Metrics) {
				m.NodeUp("node1", true)
				m.NodeUp("node2", true)
				m.NodeUp("node2", false)
				m.NodeUp("node3", true)
				m.ForgetNode("node3")
			},
			want: []string{
				`cadre_node_up{instance_node="node1",node="node1"} 1`,
				`cadre_node_up{instance_node="node1",node="node2"} 0`,
			},
			absent: []string{`cadre_node_up{instance_node="node1",node="node3"}`},
		},
		{
			name: "peer calls",
			act: func(m *metrics.Metrics) {
				m.PeerCall("node2", "/cache/invalidate", metrics.PeerOK)
				m.PeerCall("node2", "/cache/invalidate", metrics.PeerOK)
				m.PeerCall("node3", "/status", metrics.PeerTimeout)
				m.PeerCall("node3", "/status", metrics.PeerUnauthorized)
				m.PeerCall("node3", "/sessions/invalidate", metrics.PeerError)
			},
			want: []string{
				`cadre_peer_calls_total{endpoint="/cache/invalidate",instance_node="node1",result="ok",target="node2"} 2`,
				`cadre_peer_calls_total{endpoint="/status",instance_node="node1",result="timeout",target="node3"} 1`,
				`cadre_peer_calls_total{endpoint="/status",instance_node="node1",result="unauthorized",target="node3"} 1`,
				`cadre_peer_calls_total{endpoint="/sessions/invalidate",instance_node="node1",result="error",target="node3"} 1`,
			},
		},
		{
			name: "cache hits and misses",
			act: func(m *metrics.Metrics) {
				m.CacheHit("global", "archetypes")
				m.CacheHit("global", "archetypes")
				m.CacheMiss("global", "archetypes")
				m.CacheMiss("local", "users")
			},
			want: []string{
				`cadre_cache_hits_total{cache="global",instance_node="node1",type="archetypes"} 2`,
				`cadre_cache_misses_total{cache="global",instance_node="node1",type="archetypes"} 1`,
				`cadre_cache_misses_total{cache="local",instance_node="node1",type="users"} 1`,
			},
			absent: []string{`cadre_cache_hits_total{cache="local"`},
		},
		{
			name: "database pools",
			act: func(m *metrics.Metrics) {
				m.RegisterDBPool("repository", func() sql.DBStats {
					return sql.DBStats{OpenConnections: 5, InUse: 2, Idle: 3, WaitCount: 7, WaitDuration: 1500 * time.Millisecond}
				})
				m.RegisterDBPool("jobstore", func() sql.DBStats { return sql.DBStats{OpenConnections: 1, Idle: 1} })
				// A second registration replaces the first.
				m.RegisterDBPool("jobstore", func() sql.DBStats { return sql.DBStats{OpenConnections: 2, Idle: 2} })
				m.RegisterDBSession("session", func() bool { return true })
			},
			want: []string{
				`cadre_db_open_connections{instance_node="node1",pool="repository"} 5`,
				`cadre_db_in_use_connections{instance_node="node1",pool="repository"} 2`,
				`cadre_db_idle_connections{instance_node="node1",pool="repository"} 3`,
				`cadre_db_wait_count_total{instance_node="node1",pool="repository"} 7`,
				`cadre_db_wait_seconds_total{instance_node="node1",pool="repository"} 1.5`,
				`cadre_db_open_connections{instance_node="node1",pool="jobstore"} 2`,
				`cadre_db_idle_connections{instance_node="node1",pool="jobstore"} 2`,
				"# TYPE cadre_db_wait_count_total counter",
				"# TYPE cadre_db_open_connections gauge",
				`cadre_db_connections{instance_node="node1",pool="repository",state="in_use"} 2`,
				`cadre_db_connections{instance_node="node1",pool="repository",state="idle"} 3`,
				`cadre_db_connections{instance_node="node1",pool="jobstore",state="in_use"} 0`,
				`cadre_db_connections{instance_node="node1",pool="jobstore",state="idle"} 2`,
				`cadre_db_connections{instance_node="node1",pool="session",state="in_use"} 1`,
				`cadre_db_connections{instance_node="node1",pool="session",state="idle"} 0`,
				"# TYPE cadre_db_connections gauge",
			},
		},
		{
			name: "runtime and process collectors",
			act:  func(*metrics.Metrics) {},
			want: []string{
				"# TYPE go_goroutines gauge",
				"# TYPE process_start_time_seconds gauge",
				// Untouched counters are exported at zero.
				series("cadre_buckets_fenced_total", "") + " 0",
			},
			contains: []string{
				"\ngo_goroutines{instance_node=\"node1\"} ",
				"\nprocess_start_time_seconds{instance_node=\"node1\"} ",
			},
			absent: []string{"\ngo_goroutines ", "\nprocess_start_time_seconds "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, scrape := setup(t)
			tt.act(m)
			body := scrape()
			lines := make(map[string]bool)
			for _, l := range strings.Split(body, "\n") {
				lines[l] = true
			}
			for _, w := range tt.want {
				if !lines[w] {
					t.Errorf("exposition lacks line %q", w)
				}
			}
			for _, c := range tt.contains {
				if !strings.Contains(body, c) {
					t.Errorf("exposition lacks %q", c)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(body, a) {
					t.Errorf("exposition contains %q, want it absent", a)
				}
			}
			if t.Failed() {
				t.Logf("exposition:\n%s", grepCadre(body))
			}
		})
	}
}

func grepCadre(body string) string {
	var b strings.Builder
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "cadre_") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func TestTotals(t *testing.T) {
	tests := []struct {
		name                     string
		completed, fenced        int
		wantCompleted, wantFence float64
	}{
		{name: "zero", wantCompleted: 0, wantFence: 0},
		{name: "some", completed: 4, fenced: 2, wantCompleted: 4, wantFence: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := setup(t)
			for range tt.completed {
				m.BucketCompleted()
			}
			for range tt.fenced {
				m.BucketFenced()
			}
			if got := m.CompletedTotal(); got != tt.wantCompleted {
				t.Errorf("CompletedTotal() = %v, want %v", got, tt.wantCompleted)
			}
			if got := m.FencedTotal(); got != tt.wantFence {
				t.Errorf("FencedTotal() = %v, want %v", got, tt.wantFence)
			}
		})
	}
}

func TestInstancesAreIndependent(t *testing.T) {
	a := metrics.New("a")
	b := metrics.New("b")
	a.BucketCompleted()
	if got := b.CompletedTotal(); got != 0 {
		t.Fatalf("b.CompletedTotal() = %v after a.BucketCompleted(), want 0", got)
	}
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if want := `cadre_buckets_completed_total{instance_node="b"} 0`; !strings.Contains(string(body), want) {
		t.Errorf("exposition of b lacks %q", want)
	}
}

func TestConcurrentUseAndScrape(t *testing.T) {
	m, scrape := setup(t)
	const workers, per = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			peer := fmt.Sprintf("node%d", w)
			m.RegisterDBPool(peer, func() sql.DBStats { return sql.DBStats{OpenConnections: w} })
			for range per {
				m.BucketClaimed()
				m.BucketCompleted()
				m.TaskRun("noop", false)
				m.SchedulerLateness(time.Millisecond)
				m.NodeUp(peer, true)
				m.PeerCall(peer, "/status", metrics.PeerOK)
				m.CacheHit("global", "archetypes")
				_ = m.CompletedTotal()
			}
			m.ForgetNode(peer)
		}()
	}
	for range 5 {
		scrape()
	}
	wg.Wait()
	body := scrape()
	for _, want := range []string{
		fmt.Sprintf(`cadre_buckets_completed_total{instance_node="node1"} %d`, workers*per),
		fmt.Sprintf(`cadre_task_runs_total{handler="noop",instance_node="node1"} %d`, workers*per),
		fmt.Sprintf(`cadre_scheduler_lateness_seconds_count{instance_node="node1"} %d`, workers*per),
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if strings.Contains(body, "cadre_node_up{") {
		t.Errorf("forgotten nodes still exported:\n%s", grepCadre(body))
	}
	if got := m.CompletedTotal(); got != workers*per {
		t.Errorf("CompletedTotal() = %v, want %d", got, workers*per)
	}
}

// TestRepairKindsShowBeforeTheFirstRepair: a node exports every repair kind
// at 0 from its start, so that an alert on the counter's rate sees the
// series before anything was repaired; a repair then counts on its kind.
func TestRepairKindsShowBeforeTheFirstRepair(t *testing.T) {
	m, scrape := setup(t)
	m.DeclareRepairKinds("coordinator-done", "buckets-held")
	body := scrape()
	for _, kind := range []string{"coordinator-done", "buckets-held"} {
		want := fmt.Sprintf(`cadre_repairs_total{instance_node=%q,kind=%q} 0`, node, kind)
		if !strings.Contains(body, want) {
			t.Fatalf("want %s in:\n%s", want, grepCadre(body))
		}
	}
	m.Repaired("buckets-held")
	if want := fmt.Sprintf(`cadre_repairs_total{instance_node=%q,kind="buckets-held"} 1`, node); !strings.Contains(scrape(), want) {
		t.Fatalf("want %s after a repair", want)
	}
}
