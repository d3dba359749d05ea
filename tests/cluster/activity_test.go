package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	domaincluster "cadre/domain/cluster"
	"cadre/domain/task"
	"cadre/node/proctest"
)

// uiPage logs in on p through the API and returns the body of a web UI page.
func uiPage(t *testing.T, p *proctest.Proc, path string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": proctest.AdminUser, "password": proctest.AdminPassword})
	resp, err := http.Post(p.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", p.URL+path, nil)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	page, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	data, _ := io.ReadAll(page.Body)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, page.StatusCode)
	}
	return string(data)
}

// TestClusterActivity: what happens in the cluster is stored once and shown
// on every node: nodes joining, an operator's scheduler stop and start, and
// a node killed with kill -9, declared dead by a named node with the time
// its work took to hand back.
func TestClusterActivity(t *testing.T) {
	c := startCluster(t, 2)
	for _, verb := range []string{"stop", "start"} {
		if status, out := c.admin(0).Do(t, "POST", "/api/v1/nodes/node2/scheduler/"+verb, nil); status/100 != 2 {
			t.Fatalf("scheduler %s: %d %v", verb, status, out)
		}
	}
	c.nodes[1].Kill()

	var events []domaincluster.Event
	proctest.WaitFor(t, "node2 to be declared dead in the activity", 30*time.Second, func() bool {
		var err error
		events, err = c.repo.EventsList(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Kind == domaincluster.EventNodeDead && e.Node == "node2" {
				return true
			}
		}
		return false
	})
	has := func(kind domaincluster.EventKind, node, actor, text string) bool {
		for _, e := range events {
			if e.Kind == kind && e.Node == node && e.Actor == actor && strings.Contains(e.Message, text) {
				return true
			}
		}
		return false
	}
	for _, want := range []struct {
		kind              domaincluster.EventKind
		node, actor, text string
	}{
		{domaincluster.EventNodeJoined, "node1", "node1", "joined at http://"},
		{domaincluster.EventNodeJoined, "node2", "node2", "joined at http://"},
		{domaincluster.EventSchedulerStopped, "node2", "node2", "stopped by an operator"},
		{domaincluster.EventSchedulerStarted, "node2", "node2", "started by an operator"},
		{domaincluster.EventNodeDead, "node2", "node1", "declared dead by node1"},
		{domaincluster.EventNodeDead, "node2", "node1", "handed back in"},
	} {
		if !has(want.kind, want.node, want.actor, want.text) {
			t.Errorf("no %s event about %s by %s saying %q in %+v", want.kind, want.node, want.actor, want.text, events)
		}
	}
	// Newest first: the death comes before (above) the joins.
	if events[0].Kind != domaincluster.EventNodeDead {
		t.Errorf("newest event is %s, want %s", events[0].Kind, domaincluster.EventNodeDead)
	}

	page := uiPage(t, c.nodes[0], "/ui/activity")
	for _, want := range []string{"Node declared dead", "declared dead by node1", "Scheduler stopped", "Node joined", `href="/ui/activity"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the activity page lacks %q", want)
		}
	}
}

// TestFencedCompletionInActivity: a node paused (SIGSTOP) inside a bucket,
// declared dead and resumed, has its late completion refused; the activity
// shows that it returned and that its completion was fenced.
func TestFencedCompletionInActivity(t *testing.T) {
	c := startCluster(t, 2)
	oid := c.createNoop(20, 1, 1500, 1)
	zombie := c.nodes[1]
	holds := func() bool {
		for _, b := range c.buckets(oid) {
			if b.State == task.BucketDelegated && b.Node == zombie.NodeID {
				return true
			}
		}
		return false
	}
	proctest.WaitFor(t, "node2 to hold a bucket", 30*time.Second, holds)
	time.Sleep(200 * time.Millisecond)
	zombie.Stop()
	proctest.WaitFor(t, "node1 to take node2's bucket", 30*time.Second, func() bool { return !holds() })
	time.Sleep(timeout)
	zombie.Cont()

	proctest.WaitFor(t, "a fenced completion and node2's return in the activity", 60*time.Second, func() bool {
		events, err := c.repo.EventsList(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		var fenced, returned, dead bool
		for _, e := range events {
			switch {
			case e.Kind == domaincluster.EventBucketFenced && e.Node == "node2":
				fenced = true
			case e.Kind == domaincluster.EventNodeReturned && e.Node == "node2":
				returned = true
			case e.Kind == domaincluster.EventNodeDead && e.Node == "node2" && e.Actor == "node1":
				dead = true
			}
		}
		return fenced && returned && dead
	})
	page := uiPage(t, c.nodes[0], "/ui/activity")
	for _, want := range []string{"Bucket fenced", "Dead node returned", "stale epoch"} {
		if !strings.Contains(page, want) {
			t.Errorf("the activity page lacks %q", want)
		}
	}
}
