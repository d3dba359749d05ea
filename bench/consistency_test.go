package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"cadre/node/proctest"
)

// BenchmarkConsistency: 1,000 writes of a cached object (an archetype's
// description) through node1, each followed at once by a read of it on
// node2 or node3 that sends back the write's X-Cadre-Change as
// X-Cadre-After-Change (docs/consistency.md); a read showing the old
// description is stale. Then 1,000 writes of a user (not cached, no change
// log row) through node1. It prints both write rates, sequential, one
// client, and the write latencies.
func BenchmarkConsistency(b *testing.B) {
	const writes = 1000
	c := startCluster(b, 3)
	clients := make([]fastClient, len(c.nodes))
	for i, p := range c.nodes {
		clients[i] = newFastClient(p.URL)
	}
	var arch, user struct {
		OID string `json:"oid"`
	}
	if _, err := clients[0].do("POST", "/api/v1/objects/archetypes", map[string]any{"name": "bench-archetype"}, &arch); err != nil {
		b.Fatal(err)
	}
	if _, err := clients[0].do("POST", "/api/v1/objects/users", map[string]any{"name": "bench-user", "password": "BenchUser1!"}, &user); err != nil {
		b.Fatal(err)
	}
	time.Sleep(4 * proctest.Interval) // the nodes cache again after their warm-up
	archPath := "/api/v1/objects/archetypes/" + arch.OID
	for _, fc := range clients { // prime every node's global cache
		if _, err := fc.do("GET", archPath, nil, nil); err != nil {
			b.Fatal(err)
		}
	}

	stale, withHeader := 0, 0
	var took []float64
	start := time.Now()
	var writing time.Duration
	for i := range writes {
		want := fmt.Sprintf("description %d", i)
		t0 := time.Now()
		h, err := send(clients[0], "PATCH", archPath, map[string]any{"description": want}, nil, "")
		d := time.Since(t0)
		writing += d
		took = append(took, ms(d))
		if err != nil {
			b.Fatalf("write %d: %v", i, err)
		}
		seq := h.Get("X-Cadre-Change")
		if seq != "" {
			withHeader++
		}
		var out struct {
			Description string `json:"description"`
		}
		if _, err := send(clients[1+i%2], "GET", archPath, nil, &out, seq); err != nil {
			b.Fatalf("read %d: %v", i, err)
		}
		if out.Description != want {
			stale++
		}
	}
	all := time.Since(start)
	cachedRate := writes / writing.Seconds()

	userPath := "/api/v1/objects/users/" + user.OID
	t0 := time.Now()
	for i := range writes {
		if _, err := send(clients[0], "PATCH", userPath, map[string]any{"fullName": fmt.Sprintf("Bench User %d", i)}, nil, ""); err != nil {
			b.Fatalf("user write %d: %v", i, err)
		}
	}
	userRate := writes / time.Since(t0).Seconds()
	fmt.Printf("cadre consistency nodes=3 writes=%d with_header=%d stale_reads=%d cached_writes_per_s=%.0f write_p50_ms=%.1f write_p99_ms=%.1f write_max_ms=%.1f pairs_seconds=%.2f user_writes_per_s=%.0f\n",
		writes, withHeader, stale, cachedRate, percentile(took, 50), percentile(took, 99), slices.Max(took), all.Seconds(), userRate)
	b.ReportMetric(float64(stale), "stale_reads")
	b.ReportMetric(cachedRate, "cached_writes/s")
	b.ReportMetric(userRate, "user_writes/s")
}

// send is fastClient.do that also sends X-Cadre-After-Change (when after
// is not empty) and returns the answer's header.
func send(f fastClient, method, path string, body, out any, after string) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if after != "" {
		req.Header.Set("X-Cadre-After-Change", after)
	}
	req.SetBasicAuth(proctest.AdminUser, proctest.AdminPassword)
	resp, err := f.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, err
		}
	}
	return resp.Header, nil
}
