package cluster_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestUniqueKeyRace sends the same create, with a uniqueKey, to two nodes
// at once: exactly one makes the task (201), the other answers 409 naming
// it. Once the task is CLOSED the key can be used again.
func TestUniqueKeyRace(t *testing.T) {
	c := startCluster(t, 2)
	create := func(node int, key string) (int, map[string]any) {
		return c.admin(node).Do(t, "POST", "/api/v1/tasks", map[string]any{
			"name": "keyed " + key, "handler": "noop", "uniqueKey": key, "params": map[string]any{"items": 3, "delayMs": 100}})
	}
	var winners []string
	for round := range 5 {
		key := fmt.Sprintf("race-%d", round)
		var status [2]int
		var body [2]map[string]any
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				status[i], body[i] = create(i, key)
			}()
		}
		close(start)
		wg.Wait()
		won, lost := 0, 1
		if status[1] == http.StatusCreated {
			won, lost = 1, 0
		}
		if status[won] != http.StatusCreated || status[lost] != http.StatusConflict {
			t.Fatalf("round %d: node1 %d %v, node2 %d %v; want one 201 and one 409", round, status[0], body[0], status[1], body[1])
		}
		oid, _ := body[won]["oid"].(string)
		if body[lost]["error"] != "conflict" || body[lost]["oid"] != oid {
			t.Fatalf("round %d: the 409 says %v; want conflict naming %s", round, body[lost], oid)
		}
		winners = append(winners, oid)
	}

	first := c.admin(0).WaitTaskClosed(t, winners[0], 30*time.Second)
	status, body := create(1, "race-0")
	if status != http.StatusCreated || body["oid"] == first.Oid {
		t.Fatalf("the key of a closed task: %d %v; want a new task (201)", status, body)
	}
}
