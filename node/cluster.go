package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	appcluster "cadre/app/cluster"
	"cadre/db"
	"cadre/domain/cluster"
	"cadre/domain/object"
	"cadre/infrastructure/peer"
	"cadre/infrastructure/pglock"
	"cadre/infrastructure/pgsession"
)

// resolveNodeID turns nodeId / nodeIdSource into this node's id.
func (n *Node) resolveNodeID(ctx context.Context) (string, error) {
	cfg := n.Config
	host := n.hostname()
	switch {
	case cfg.NodeID != "":
		return appcluster.ResolveNodeID(ctx, cfg.NodeID, os.Getenv, host, n.Store, cfg.TaskManager.NodeTimeout)
	case cfg.NodeIDSource == "hostname":
		return host, nil
	case cfg.NodeIDSource == "random":
		return "node-" + randomHex(4), nil
	}
	return "DefaultNode", nil
}

func (n *Node) hostname() string {
	if n.Config.HostName != "" {
		return n.Config.HostName
	}
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return h
}

func randomHex(nBytes int) string {
	b := make([]byte, nBytes)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openSession prepares the node's session connection on PostgreSQL
// (docs/connections.md): repository/sessionJdbcUrl, or the repository's own
// URL. It holds the liveness lock when the node is clustered, carries the
// job store's LISTEN when the job store is in the repository database, and
// runs the node's check-ins, which so never wait for the pool.
func (n *Node) openSession() error {
	cfg := n.Config
	if n.DB.Dialect != db.Postgres {
		return nil
	}
	dsn, key := n.DB.DSN, "repository/jdbcUrl"
	if u := cfg.Repository.SessionJDBCURL; u != "" {
		var err error
		if dsn, err = db.SessionDSN(u, cfg.Repository.JDBCUsername, cfg.Repository.JDBCPassword, applicationName(cfg.NodeID)); err != nil {
			return fmt.Errorf("session connection: %w", dbError("repository/sessionJdbcUrl", err))
		}
		key = "repository/sessionJdbcUrl"
	}
	if n.Store.SessionLocks() && cfg.TaskManager.Clustered {
		n.lockKey = cluster.LivenessLockKey(cfg.NodeID)
	}
	n.session = pgsession.New(dsn, n.lockKey, n.Log)
	n.Store.CheckInOn(n.session)
	n.Metrics.RegisterDBSession("session", n.session.Connected)
	n.Log.Debug("session connection", "from", key)
	return nil
}

// urlPattern reads infrastructure/intraClusterHttpUrlPattern from the
// system configuration for the check-in. Only the first read waits for the
// database; later ones answer the last value read and refresh it in the
// background, so a check-in never waits for a pool busy with bulk work (a
// changed pattern shows one check-in later).
type urlPattern struct {
	n          *Node
	mu         sync.Mutex
	value      string
	loaded     bool
	refreshing atomic.Bool
}

func (u *urlPattern) IntraClusterURLPattern(ctx context.Context) string {
	u.mu.Lock()
	value, loaded := u.value, u.loaded
	u.mu.Unlock()
	if !loaded {
		u.refresh(ctx)
		u.mu.Lock()
		defer u.mu.Unlock()
		return u.value
	}
	if u.refreshing.CompareAndSwap(false, true) {
		if !u.n.life.Go(func(ctx context.Context) { defer u.refreshing.Store(false); u.refresh(ctx) }) {
			u.refreshing.Store(false)
		}
	}
	return value
}

func (u *urlPattern) refresh(ctx context.Context) {
	o, err := u.n.Store.Get(ctx, object.TypeSystemConfiguration, object.SystemConfigurationOID)
	if err != nil {
		return // keep the last value: a database hiccup must not change the node's URL
	}
	u.mu.Lock()
	u.value, u.loaded = o.(*object.SystemConfiguration).Infrastructure.IntraClusterHTTPURLPattern, true
	u.mu.Unlock()
}

// httpProber asks a node URL's /healthz which instance answers there.
type httpProber struct{ client *http.Client }

func (p httpProber) Instance(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(url, "/")+"/healthz", nil)
	if err != nil {
		return "", err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Instance string `json:"instance"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("read /healthz of %s: %w", url, err)
	}
	if body.Instance == "" {
		return "", errors.New("no instance in /healthz")
	}
	return body.Instance, nil
}

// statusProbe confirms a crash: the node's signed status endpoint refuses
// the connection (nothing listens at its URL any more).
type statusProbe struct{ client *peer.Client }

func (p statusProbe) Refused(ctx context.Context, nd cluster.Node) bool {
	err := p.client.Call(ctx, peer.Target{ID: nd.ID, URL: nd.URL}, http.MethodGet, peer.EndpointStatus, peer.EndpointStatus, nil, nil)
	return errors.Is(err, syscall.ECONNREFUSED)
}

func (n *Node) buildCluster(port int) {
	cfg := n.Config
	groups := configuredGroups(cfg.TaskManager.ExecutionGroups)
	httpPort := cfg.HTTPPort
	if httpPort == 0 {
		httpPort = port
	}
	schema, _ := n.DB.SchemaVersion(context.Background(), n.migrations)
	lockKey := n.lockKey
	sqlDB, err := n.DB.DB.DB()
	crashDetection := err == nil && lockKey != 0
	n.Cluster = appcluster.New(appcluster.Config{
		Clustered: cfg.TaskManager.Clustered, Hostname: n.hostname(), HTTPPort: httpPort, Scheme: n.scheme(), Path: cfg.Server.ContextPath, ConfigURL: cfg.URL,
		Version: Version, SchemaVersion: schema, Interval: cfg.TaskManager.NodeRegistrationInterval, Timeout: cfg.TaskManager.NodeTimeout,
		LocalNodeClusteringEnabled: cfg.TaskManager.LocalNodeClusteringEnabled, ExecutionGroups: groups, ExecutionLimits: n.Tasks.Limits(), LivenessLock: lockKey,
		Settings: n.sharedSettings(),
	}, cfg.NodeID, n.InstanceID, n.Store, n.Tasks, n.Scheduler, &urlPattern{n: n}, httpProber{client: &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: n.peerTLS()}}}, n.Log)
	if crashDetection {
		n.Cluster.SetCrashDetection(pglock.NewProbe(sqlDB), statusProbe{peer.NewClient(n.peerDir, nil, n.Log, peer.Options{Timeout: time.Second, Retries: -1, TLS: n.peerTLS()})})
	}
	n.Cluster.SetEvents(n.Store)
	n.clusterView.set(n.Cluster)
	var probing atomic.Bool
	n.Cluster.OnChange(func() { n.probePeers(&probing) })
	n.Cluster.OnChange(func() { n.samples.take(n) })
	n.Cluster.OnChange(func() {
		views, err := n.Cluster.Nodes(n.life.Context())
		if err != nil {
			return
		}
		n.nodeSeries.sync(n.Metrics, views)
	})
}

// SetURLOverride implements httpapi.NodeDirectory: it writes the named node's
// urlOverride, which that node follows at its next check-in.
func (v *clusterView) SetURLOverride(ctx context.Context, nodeID, override string) error {
	m := v.m.Load()
	if m == nil {
		return errors.New("cluster manager not started")
	}
	return m.SetURLOverride(ctx, nodeID, override)
}

// probePeers asks every live peer's signed /status, at start and after every
// check-in, so the dashboard's reachability column says whether this node
// can reach each peer before any real call needed to. A round still running
// from the last check-in is not doubled.
func (n *Node) probePeers(probing *atomic.Bool) {
	if !n.Config.TaskManager.Clustered || n.Peers == nil || !probing.CompareAndSwap(false, true) {
		return
	}
	started := n.life.Go(func(ctx context.Context) {
		defer probing.Store(false)
		ctx, cancel := context.WithTimeout(ctx, n.Config.TaskManager.NodeRegistrationInterval+time.Second)
		defer cancel()
		n.Peers.Broadcast(ctx, http.MethodGet, peer.EndpointStatus, peer.EndpointStatus, nil)
	})
	if !started {
		probing.Store(false)
	}
}

// sharedSettings are this node's settings that must match cluster-wide:
// where the job store lives and which task handlers exist (the clustered
// flag and the peer mode are added by the cluster manager).
func (n *Node) sharedSettings() map[string]string {
	tm := n.Config.TaskManager
	jobStore := "repository database"
	switch {
	case !tm.JDBCJobStore:
		jobStore = "in memory"
	case tm.JDBCURL != "":
		jobStore = "separate " + tm.Database + " database " + dbLocation(tm.JDBCURL)
	}
	return map[string]string{
		cluster.SettingJobStore: jobStore,
		cluster.SettingHandlers: strings.Join(n.Tasks.Handlers(), ","),
	}
}

// dbLocation is a database URL's host and database, without credentials or parameters.
func dbLocation(raw string) string {
	u, err := url.Parse(strings.TrimPrefix(raw, "jdbc:"))
	if err != nil || u.Host == "" {
		if u != nil && u.Opaque != "" { // jdbc:sqlite:path
			return strings.SplitN(u.Opaque, "?", 2)[0]
		}
		return "(unparsed URL)"
	}
	return u.Host + u.Path
}
