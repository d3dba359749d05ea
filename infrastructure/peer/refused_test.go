package peer

import (
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestOnRefused: a call whose connection is refused names the node to
// OnRefused (crash detection probes it at once); an answer, even an error
// answer, does not.
func TestOnRefused(t *testing.T) {
	c := setup(t, func(g group) {
		g.handle(http.MethodGet, EndpointStatus, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "busy"})
		})
	})
	var mu sync.Mutex
	var refused []string
	client := NewClient(c.n1, nil, slog.New(slog.NewTextHandler(c.log, nil)), Options{Timeout: time.Second, Retries: -1,
		OnRefused: func(id string) {
			mu.Lock()
			defer mu.Unlock()
			refused = append(refused, id)
		}})
	if err := client.Call(t.Context(), Target{ID: "n2", URL: c.srv.URL}, http.MethodGet, EndpointStatus, EndpointStatus, nil, nil); err == nil {
		t.Fatal("a 503 answer counted as success")
	}
	if err := client.Call(t.Context(), Target{ID: "gone", URL: deadURL(t)}, http.MethodGet, EndpointStatus, EndpointStatus, nil, nil); err == nil {
		t.Fatal("a refused connection counted as success")
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(refused, []string{"gone"}) {
		t.Fatalf("OnRefused got %v; want only the node whose connection was refused", refused)
	}
}
