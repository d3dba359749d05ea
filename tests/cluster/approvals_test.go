package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"cadre/domain/object"
	"cadre/domain/task"
	"cadre/node"
	"cadre/node/proctest"
)

// approvalPause holds every approval run between giving the role and marking
// the case applied, so the test can see a run in that window and kill its node.
const approvalPause = 4 * time.Second

const approverPassword = "Approve123!"

// approvals is a two-node cluster with a role whose approvers are alice and bob.
type approvals struct {
	*cluster
	role, alice, bob string
}

func (a *approvals) as(name string, i int) proctest.Client {
	return proctest.Client{Base: a.nodes[i].URL, User: name, Pass: approverPassword}
}

// must sends a request and fails the test unless the answer has status want.
func must(t *testing.T, c proctest.Client, want int, method, path string, body any) map[string]any {
	t.Helper()
	status, out := c.Do(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s on %s: want %d, got %d %v", method, path, c.Base, want, status, out)
	}
	return out
}

// requestRole makes a user and gives it the role through node1, which opens a case.
func (a *approvals) requestRole(t *testing.T, user string) (userOID, caseOID string) {
	t.Helper()
	userOID = must(t, a.admin(0), http.StatusCreated, "POST", "/api/v1/objects/users", map[string]any{"name": user})["oid"].(string)
	held := must(t, a.admin(0), http.StatusAccepted, "PATCH", "/api/v1/objects/users/"+userOID, map[string]any{"roles": []string{a.role}})
	return userOID, held["case"].(string)
}

func (a *approvals) user(t *testing.T, oid string) *object.User {
	t.Helper()
	o, err := a.repo.Get(context.Background(), object.TypeUser, oid)
	if err != nil {
		t.Fatalf("read user %s: %v", oid, err)
	}
	return o.(*object.User)
}

func (a *approvals) approvalCase(t *testing.T, oid string) *object.Case {
	t.Helper()
	o, err := a.repo.Get(context.Background(), object.TypeCase, oid)
	if err != nil {
		t.Fatalf("read case %s: %v", oid, err)
	}
	return o.(*object.Case)
}

// waitApplied waits until the case is applied and checks that its user holds
// the role exactly once.
func (a *approvals) waitApplied(t *testing.T, caseOID string) *object.Case {
	t.Helper()
	proctest.WaitFor(t, "case "+caseOID+" to be applied", 60*time.Second, func() bool {
		return a.approvalCase(t, caseOID).AppliedAt != nil
	})
	c := a.approvalCase(t, caseOID)
	if roles := a.user(t, c.User).Roles; countRole(roles, a.role) != 1 {
		t.Fatalf("user %s has roles %v: want the role exactly once", c.User, roles)
	}
	return c
}

func countRole(roles []string, role string) int {
	n := 0
	for _, r := range roles {
		if r == role {
			n++
		}
	}
	return n
}

// TestApprovalsAcrossNodes: approvers deciding the same case at once on two
// nodes get one 200 and one 409, and the user has the role iff the approval
// won; the node that runs an approval task is killed with kill -9 after it
// gave the role, and the task run again on the other node gives it no second
// time and marks the case applied.
func TestApprovalsAcrossNodes(t *testing.T) {
	t.Setenv(node.ApprovalPauseEnv, approvalPause.String()) // inherited by the nodes
	a := &approvals{cluster: startCluster(t, 2)}
	a.alice = must(t, a.admin(0), http.StatusCreated, "POST", "/api/v1/objects/users", map[string]any{"name": "alice", "password": approverPassword})["oid"].(string)
	a.bob = must(t, a.admin(1), http.StatusCreated, "POST", "/api/v1/objects/users", map[string]any{"name": "bob", "password": approverPassword})["oid"].(string)
	a.role = must(t, a.admin(0), http.StatusCreated, "POST", "/api/v1/objects/roles",
		map[string]any{"name": "Auditor", "approvers": []string{a.alice, a.bob}})["oid"].(string)

	t.Run("two approvers decide at once on two nodes: one wins", func(t *testing.T) {
		for round, bobDoes := range []string{"reject", "approve"} {
			userOID, caseOID := a.requestRole(t, fmt.Sprintf("racer%d", round))
			var wg sync.WaitGroup
			start := make(chan struct{})
			statuses := map[string]int{}
			var mu sync.Mutex
			for _, d := range []struct {
				who, verb string
				node      int
			}{{"alice", "approve", 0}, {"bob", bobDoes, 1}} {
				wg.Go(func() {
					<-start
					status, _ := a.as(d.who, d.node).Do(t, "POST", "/api/v1/cases/"+caseOID+"/"+d.verb, map[string]any{"comment": d.who})
					mu.Lock()
					statuses[d.who] = status
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			won := ""
			for who, status := range statuses {
				switch status {
				case http.StatusOK:
					won = who
				case http.StatusConflict:
				default:
					t.Fatalf("round %d: %s got %d", round, who, status)
				}
			}
			if won == "" || statuses["alice"] == statuses["bob"] {
				t.Fatalf("round %d: want one 200 and one 409, got %v", round, statuses)
			}
			c := a.approvalCase(t, caseOID)
			if c.Comment != won || c.DecidedBy != map[string]string{"alice": a.alice, "bob": a.bob}[won] {
				t.Fatalf("round %d: %s won but the case says decided by %s with comment %q", round, won, c.DecidedBy, c.Comment)
			}
			if c.State == object.CaseApproved {
				a.waitApplied(t, caseOID)
				continue
			}
			if roles := a.user(t, userOID).Roles; len(roles) != 0 || c.Task != "" {
				t.Fatalf("round %d: rejected, yet the user has roles %v (task %q)", round, roles, c.Task)
			}
		}
	})

	t.Run("the node running the approval dies after giving the role", func(t *testing.T) {
		userOID, caseOID := a.requestRole(t, "survivor")
		approved := must(t, a.as("alice", 0), http.StatusOK, "POST", "/api/v1/cases/"+caseOID+"/approve", map[string]any{"comment": "go"})
		taskOID := approved["task"].(string)
		var runner string
		proctest.WaitFor(t, "the approval task to give the role and pause", 30*time.Second, func() bool {
			tk, err := a.repo.TasksGet(context.Background(), taskOID)
			if err != nil || tk.State != task.Running {
				return false
			}
			runner = tk.Node
			return slices.Contains(a.user(t, userOID).Roles, a.role) && a.approvalCase(t, caseOID).AppliedAt == nil
		})
		victim := slices.IndexFunc(a.nodes, func(p *proctest.Proc) bool { return p.NodeID == runner })
		if victim < 0 {
			t.Fatalf("the approval task runs on %q, no node of the test", runner)
		}
		a.nodes[victim].Kill()

		c := a.waitApplied(t, caseOID)
		tk, err := a.repo.TasksGet(context.Background(), taskOID)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Node == runner || tk.Result != task.Success {
			t.Fatalf("approval task after the kill of %s: node %s, result %s", runner, tk.Node, tk.Result)
		}
		if c.State != object.CaseApproved || c.DecidedBy != a.alice || c.Task != taskOID {
			t.Fatalf("case after the re-run: %+v", c)
		}
	})
}
