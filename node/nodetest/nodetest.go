// Package nodetest starts a real node (real database, real router) inside a
// test, behind an httptest server.
package nodetest

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"cadre/db/dbtest"
	"cadre/infrastructure/config"
	"cadre/node"
)

// AdminPassword is the administrator password of test nodes.
const AdminPassword = "Secret123!"

// Node is a started test node.
type Node struct {
	*node.Node
	URL string
}

// Start runs a node on a fresh database of the dialect ("sqlite" or
// "postgresql"); extra are -D arguments. It stops when the test ends.
func Start(t testing.TB, dialect string, extra ...string) *Node {
	t.Helper()
	return StartOn(t, dbtest.URL(t, dialect), extra...)
}

// StartOn runs a node on an existing database URL.
func StartOn(t testing.TB, url string, extra ...string) *Node {
	t.Helper()
	args := append([]string{
		"-Dmidpoint.home=" + t.TempDir(),
		"-Dmidpoint.repository.jdbcUrl=" + url,
		"-Dmidpoint.administrator.initialPassword=" + AdminPassword,
		"-Dserver.port=0",
		"-Dmidpoint.taskManager.nodeRegistrationInterval=200ms",
		"-Dmidpoint.taskManager.nodeTimeout=2s",
	}, extra...)
	cfg, err := config.Load(args, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	var w io.Writer = io.Discard
	if os.Getenv("CADRE_TEST_LOG") != "" {
		w = os.Stderr
	}
	log := node.NewLogger(w, cfg)
	ctx := context.Background()
	n, err := node.New(ctx, cfg, log)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil && !strings.Contains(err.Error(), "closed") {
			t.Logf("stop node: %v", err)
		}
	})
	return &Node{Node: n, URL: n.LocalURL()}
}
