package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/domain/cluster"
	"cadre/domain/object"
	"cadre/infrastructure/peer"
	peerapi "cadre/interfaces/peer"
	"cadre/interfaces/webui"
)

// pushWait bounds how long a write waits for its peers to acknowledge the
// push of its change; a slow or dead peer never blocks longer, and applies
// the change from the change log at its next tick (changelog.go).
const pushWait = 500 * time.Millisecond

// peerDirectory gives the peer adapter the node rows.
type peerDirectory struct {
	n *Node

	mu    sync.Mutex
	cache map[string]lookupEntry
}

type lookupEntry struct {
	node  *cluster.Node
	until time.Time
}

// Self implements peer.Directory.
func (d *peerDirectory) Self() (string, string) {
	if d.n.Cluster == nil {
		return d.n.Config.NodeID, ""
	}
	me := d.n.Cluster.Self()
	return me.ID, me.Secret
}

// LivePeers implements peer.Directory. It reads the node rows afresh: a
// node that joined a moment ago must not miss an invalidation.
func (d *peerDirectory) LivePeers(ctx context.Context) ([]peer.Target, error) {
	nodes, err := d.n.Store.NodesList(ctx)
	if err != nil {
		return nil, err
	}
	now, err := d.n.Store.Now(ctx)
	if err != nil {
		return nil, err
	}
	var out []peer.Target
	for _, nd := range nodes {
		if nd.ID != d.n.Config.NodeID && nd.URL != "" && nd.CheckingIn(now, d.n.Config.TaskManager.NodeTimeout) {
			out = append(out, peer.Target{ID: nd.ID, URL: nd.URL})
		}
	}
	return out, nil
}

// Lookup implements peer.Directory, with a one-second cache: every incoming
// peer call looks its caller up.
func (d *peerDirectory) Lookup(ctx context.Context, id string) (peer.Target, string, bool, error) {
	d.mu.Lock()
	e, ok := d.cache[id]
	d.mu.Unlock()
	if !ok || time.Now().After(e.until) {
		nd, err := d.n.Store.NodesGet(ctx, id)
		if errors.Is(err, cluster.ErrNotFound) {
			return peer.Target{}, "", false, fmt.Errorf("%w: %s", peer.ErrUnknownNode, id)
		}
		if err != nil {
			return peer.Target{}, "", false, err
		}
		e = lookupEntry{node: nd, until: time.Now().Add(time.Second)}
		d.mu.Lock()
		if d.cache == nil || len(d.cache) > 1000 {
			d.cache = map[string]lookupEntry{}
		}
		d.cache[id] = e
		d.mu.Unlock()
	}
	return peer.Target{ID: e.node.ID, URL: e.node.URL}, e.node.Secret, e.node.OperationalState != cluster.Down, nil
}

// NodeURL implements httpapi.ReportPeers.
func (d *peerDirectory) NodeURL(ctx context.Context, nodeID string) (string, bool, error) {
	nd, err := d.n.Store.NodesGet(ctx, nodeID)
	if errors.Is(err, cluster.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	now, err := d.n.Store.Now(ctx)
	if err != nil {
		return "", false, err
	}
	return nd.URL, nd.CheckingIn(now, d.n.Config.TaskManager.NodeTimeout), nil
}

// FetchReport implements httpapi.ReportPeers over the signed peer call.
func (d *peerDirectory) FetchReport(ctx context.Context, nodeID, reportOID string) (io.ReadCloser, int64, error) {
	t, _, _, err := d.Lookup(ctx, nodeID)
	if err != nil {
		return nil, 0, err
	}
	return d.n.Peers.Stream(ctx, t, peer.ReportFilePath(reportOID), peer.EndpointReportFile)
}

// peerReach is, per node id, what the peer client last saw of that node,
// for the dashboard.
func (n *Node) peerReach() map[string]webui.PeerReach {
	seen := n.Peers.Reachability()
	out := make(map[string]webui.PeerReach, len(seen))
	for id, r := range seen {
		out[id] = webui.PeerReach{LastOK: r.LastOK, LastError: r.LastError, LastErrorAt: r.LastErrorAt}
	}
	return out
}

// peerHandlers answers other nodes' calls.
type peerHandlers struct{ n *Node }

func (h peerHandlers) InvalidateCache(_ context.Context, objType, oid string, seq int64) {
	h.n.Cache.Invalidate(object.Type(objType), oid)
	h.n.follower.Pushed(seq)
}

func (h peerHandlers) InvalidateSessions(_ context.Context, userOID string, seq int64) {
	if userOID == "" {
		h.n.Auth.DropPrincipals()
	} else {
		h.n.Auth.InvalidateUser(userOID)
	}
	h.n.follower.Pushed(seq)
}

func (h peerHandlers) SchedulerStop(ctx context.Context) error { return h.n.Cluster.StopScheduler(ctx) }
func (h peerHandlers) SchedulerStart(ctx context.Context) error {
	return h.n.Cluster.StartScheduler(ctx)
}
func (h peerHandlers) StopTask(_ context.Context, oid string) bool {
	return h.n.Tasks.StopLocal(oid)
}

func (h peerHandlers) OpenReport(ctx context.Context, oid string) (io.ReadCloser, int64, error) {
	o, err := h.n.Store.Get(ctx, object.TypeReport, oid)
	if err != nil {
		return nil, 0, err
	}
	return h.n.Reports.Open(o.(*object.Report).FileName)
}

func (h peerHandlers) Status(ctx context.Context) any {
	me := h.n.Cluster.Self()
	return map[string]any{"node": me.ID, "instance": h.n.InstanceID, "schedulerState": me.SchedulerState,
		"runningTasks": h.n.Tasks.RunningHere(), "version": Version}
}

// buildPeers wires the signed peer client and endpoints, and sends every
// committed change to the peers: cache invalidations in the background,
// session invalidations with a short bounded wait.
func (n *Node) buildPeers() {
	dir := &peerDirectory{n: n}
	n.peerDir = dir
	n.Peers = peer.NewClient(dir, n.Metrics, n.Log, peer.Options{TLS: n.peerTLS(), OnRefused: func(id string) {
		if m := n.clusterView.m.Load(); m != nil {
			m.Suspect(id) // probe that node's liveness lock at once
		}
	}})
	peerapi.Register(n.engine, peer.NewVerifier(dir, n.Log, nil, n.Started), peerHandlers{n})
	n.clusterView.remote = func(ctx context.Context, nodeID string, start bool) error {
		t, _, _, err := dir.Lookup(ctx, nodeID)
		if errors.Is(err, peer.ErrUnknownNode) {
			return fmt.Errorf("%w: %s", cluster.ErrNotFound, nodeID)
		}
		if err != nil {
			return err
		}
		path := peer.EndpointSchedulerStop
		if start {
			path = peer.EndpointSchedulerStart
		}
		return n.Peers.Call(ctx, t, http.MethodPost, path, path, nil, nil)
	}
	n.Tasks.SetRemoteStop(func(ctx context.Context, nodeID, oid string) {
		t, _, _, err := dir.Lookup(ctx, nodeID)
		if err == nil {
			err = n.Peers.Call(ctx, t, http.MethodPost, peer.TaskStopPath(oid), peer.EndpointTaskStop, nil, nil)
		}
		if err != nil {
			n.Log.Warn("stop task on its node", "task", oid, "runsOn", nodeID, "err", err)
		}
	})
	n.Repo.OnChange(func(ctx context.Context, c repository.Change) {
		if !n.Config.TaskManager.Clustered || c.Seq == 0 {
			return // nothing any other node must act on
		}
		n.follower.Made(c.Seq) // the listeners before this one applied it here
		n.push(ctx, c)
	})
}

// endSessions ends every session of a user ("log out everywhere"): the
// repository's rows, this node's cached principals, and, on a cluster, the
// peers' cached principals (waiting up to pushWait for them), so the
// user's cookies stop working on every node at once.
func (n *Node) endSessions(ctx context.Context, userOID string) error {
	if err := n.Auth.EndUserSessions(ctx, userOID); err != nil {
		return err
	}
	if !n.Config.TaskManager.Clustered {
		return nil
	}
	n.broadcastAndWait(ctx, peer.EndpointSessionsInvalidate, peer.SessionInvalidation{UserOID: userOID})
	return nil
}

// push sends a committed change to every live peer and waits, at most
// pushWait, until each has answered: then the change holds on every
// reachable node when the write returns. A peer that did not answer in
// time applies it from the change log at its next tick.
func (n *Node) push(ctx context.Context, c repository.Change) {
	effect, ok := auth.LogEffect(c)
	if !ok {
		return
	}
	path, body := peer.EndpointCacheInvalidate, any(peer.CacheInvalidation{Type: string(c.Type), OID: c.OID, Seq: c.Seq})
	switch effect {
	case repository.EffectRefresh, repository.EffectEnd:
		path, body = peer.EndpointSessionsInvalidate, peer.SessionInvalidation{UserOID: c.OID, Seq: c.Seq}
	case repository.EffectRefreshAll:
		path, body = peer.EndpointSessionsInvalidate, peer.SessionInvalidation{All: true, Seq: c.Seq}
	}
	n.broadcastAndWait(ctx, path, body)
}

// broadcastAndWait posts body to path on every live peer and waits, at most
// pushWait, until each has answered.
func (n *Node) broadcastAndWait(ctx context.Context, path string, body any) {
	done := make(chan struct{})
	if !n.life.Go(func(ctx context.Context) {
		defer close(done)
		n.Peers.Broadcast(ctx, http.MethodPost, path, path, body)
	}) {
		return // the node is stopping
	}
	select {
	case <-done:
	case <-time.After(pushWait):
	case <-ctx.Done():
	}
}
