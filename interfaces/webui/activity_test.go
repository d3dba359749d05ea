package webui_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"cadre/domain/cluster"
	"cadre/interfaces/webui"
)

func withActivity(f func(ctx context.Context, before int64, limit int) ([]cluster.Event, error)) func(*options) {
	return func(o *options) {
		o.deps = func(d *webui.Deps) { d.Activity = f }
	}
}

// TestActivityPage: the events, newest first as the store gives them, with a
// look per kind, a live fragment and a readable failure.
func TestActivityPage(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 2, 3, 4, 0, time.UTC)
	events := []cluster.Event{
		{ID: 3, At: at.Add(2 * time.Second), Kind: cluster.EventNodeDead, Node: "node3", Actor: "node1", Message: "declared dead by node1 (no check-in for 3.1s); 2 task(s) and 4 bucket(s) handed back in 12 ms"},
		{ID: 2, At: at.Add(time.Second), Kind: cluster.EventSchedulerStopped, Node: "node2", Actor: "node2", Message: "scheduler stopped by an operator"},
		{ID: 1, At: at, Kind: cluster.EventNodeJoined, Node: "node3", Actor: "node3", Message: "joined at http://node3:8080"},
	}
	var limit int
	e := setup(t, withActivity(func(_ context.Context, _ int64, n int) ([]cluster.Event, error) { limit = n; return events, nil }))
	b := e.browser(t)
	b.login("administrator", adminPassword)
	for _, path := range []string{"/ui/activity", "/ui/activity/fragment"} {
		p := b.get(path)
		p.expect(t, http.StatusOK, `data-refresh-url="/ui/activity/fragment"`, "Node declared dead", "handed back in 12 ms",
			`event-badge-bad`, "Scheduler stopped", "Node joined", "2026-12-01 02:03:06")
		dead, stopped, joined := strings.Index(p.body, "Node declared dead"), strings.Index(p.body, "Scheduler stopped"), strings.Index(p.body, "Node joined")
		if !(dead < stopped && stopped < joined) {
			t.Errorf("%s: events not newest first", path)
		}
	}
	if limit != 201 { // one more than a page: whether there are older ones
		t.Errorf("asked the store for %d events, want 201", limit)
	}
	if p := b.get("/ui/activity"); strings.Contains(p.body, "Older events") {
		t.Error("a list of three events offers older ones")
	}
	if p := b.get("/ui/"); !strings.Contains(p.body, `href="/ui/activity"`) {
		t.Error("no Activity item in the navigation")
	}

	failing := setup(t, withActivity(func(context.Context, int64, int) ([]cluster.Event, error) {
		return nil, errors.New("relation cluster_events does not exist")
	}))
	fb := failing.browser(t)
	fb.login("administrator", adminPassword)
	p := fb.get("/ui/activity")
	p.expect(t, http.StatusOK, "cannot be read right now", `data-refresh-url="/ui/activity/fragment"`)
	if strings.Contains(p.body, "relation cluster_events") {
		t.Error("the page shows the internal error")
	}
}

// TestActivityOlderPages: a long history is walked by cursor, 200 events a
// page, from the newest back to the first, and back to the newest.
func TestActivityOlderPages(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 2, 3, 4, 0, time.UTC)
	const total = 450
	e := setup(t, withActivity(func(_ context.Context, before int64, limit int) ([]cluster.Event, error) {
		var out []cluster.Event
		for id := int64(total); id >= 1 && len(out) < limit; id-- {
			if before == 0 || id < before {
				out = append(out, cluster.Event{ID: id, At: at.Add(time.Duration(id) * time.Second), Kind: cluster.EventNodeJoined,
					Node: "node1", Message: fmt.Sprintf("event number %d.", id)})
			}
		}
		return out, nil
	}))
	b := e.browser(t)
	b.login("administrator", adminPassword)
	older := func(p page) string {
		i := strings.Index(p.body, `">Older events →</a>`)
		if i < 0 {
			return ""
		}
		j := strings.LastIndex(p.body[:i], `href="`)
		return strings.ReplaceAll(p.body[j+len(`href="`):i], "&amp;", "&")
	}
	p := b.get("/ui/activity")
	p.expect(t, http.StatusOK, "event number 450.", "event number 251.", `200 most recent event(s)`)
	path := older(p)
	if path == "" || strings.Contains(p.body, `href="/ui/activity">« Newest events`) {
		t.Fatalf("the newest page: older link %q", path)
	}
	for _, want := range []struct{ first, last string }{{"event number 250.", "event number 51."}, {"event number 50.", "event number 1."}} {
		p = b.get(path)
		p.expect(t, http.StatusOK, want.first, want.last, `href="/ui/activity">« Newest events`)
		if strings.Contains(p.body, "event number 251.") || !strings.Contains(p.body, `data-refresh-url="/ui/activity/fragment?after=`) {
			t.Errorf("%s: not the page after the one before, or refreshing another page", path)
		}
		path = older(p)
	}
	if path != "" {
		t.Errorf("the oldest page links to older events: %s", path)
	}
	b.get("/ui/activity?after=bm90IGFuIGlk").expect(t, http.StatusOK, "event number 450.") // "not an id": the newest
}

// TestNoActivityPageWithoutStore: a node built without an event store has
// neither the page nor the navigation item.
func TestNoActivityPageWithoutStore(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.login("administrator", adminPassword)
	if p := b.get("/ui/"); strings.Contains(p.body, `href="/ui/activity"`) {
		t.Error("an Activity item without an event store")
	}
	if p := b.get("/ui/activity"); p.status != http.StatusNotFound {
		t.Errorf("/ui/activity: %d, want 404", p.status)
	}
}
