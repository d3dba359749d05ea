// Package peer is the intra-cluster HTTP adapter of DESIGN §6: a client that
// signs every call with this node's secret, and the Verifier of such calls
// from the other nodes (interfaces/peer puts it in front of its endpoints).
//
// Unlike midPoint's cluster authentication (caller found by IP, secret sent in
// plain text, no replay protection), a caller names itself in X-Cadre-Node and
// proves it with an HMAC-SHA256 over the method, path, timestamp, a random
// nonce and the body hash, keyed by its own node secret from the shared
// database. The secret never crosses the wire; NAT and proxies do not matter;
// a captured request cannot be replayed (nonce cache) or kept for later
// (±60 s timestamp window).
package peer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"

	nodes "cadre/domain/cluster"
)

// BasePath prefixes every intra-cluster endpoint on the target node's URL.
const BasePath = "/internal/cluster"

// Target is a node to call: its id and its intra-cluster URL (without BasePath).
type Target struct {
	ID, URL string
}

// Directory gives the node rows the adapter needs; the repository implements it.
type Directory interface {
	// Self is this node's id and peer secret.
	Self() (id, secret string)
	// LivePeers lists the nodes that are up and checking in, without this node.
	LivePeers(ctx context.Context) ([]Target, error)
	// Lookup reads any node: its target, its secret and whether it is up
	// (STARTING or UP). err wraps ErrUnknownNode when there is no such node.
	Lookup(ctx context.Context, id string) (t Target, secret string, up bool, err error)
}

// Metrics counts intra-cluster calls; *metrics.Metrics satisfies it.
type Metrics interface {
	PeerCall(target, endpoint, result string)
}

// Errors of intra-cluster calls.
var (
	// ErrUnknownNode: no node row has that id.
	ErrUnknownNode = errors.New("unknown node")
	// ErrUnauthorized: the target rejected our signature (401); it is the
	// domain's cluster.ErrUnauthorized.
	ErrUnauthorized = nodes.ErrUnauthorized
	// ErrUnreachable: no HTTP answer (no URL, connection refused, timeout);
	// it is the domain's cluster.ErrUnreachable.
	ErrUnreachable = nodes.ErrUnreachable
	// ErrTimeout: no answer within Options.Timeout; it wraps ErrUnreachable
	// and is the domain's cluster.ErrTimeout.
	ErrTimeout = nodes.ErrTimeout
	// ErrBadAnswer: a 5xx, or an answer that does not decode; it is the
	// domain's cluster.ErrBadAnswer.
	ErrBadAnswer = nodes.ErrBadAnswer
)

// StatusError is a non-2xx answer from a node. errors.Is matches
// ErrUnauthorized for 401 and fs.ErrNotExist for 404.
type StatusError struct {
	Node    string
	Status  int
	Slug    string // "error" of the JSON error shape, if any
	Message string // "message" of the JSON error shape, or the start of the body
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("node %s answered %d", e.Node, e.Status)
	if e.Slug != "" {
		s += " " + e.Slug
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is lets errors.Is(err, ErrUnauthorized) and errors.Is(err, fs.ErrNotExist) work.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == 401
	case fs.ErrNotExist:
		return e.Status == 404
	case ErrBadAnswer:
		return e.Status >= 500
	}
	return false
}

// Endpoint patterns under BasePath (also the metrics label).
const (
	EndpointCacheInvalidate    = "/cache/invalidate"
	EndpointSessionsInvalidate = "/sessions/invalidate"
	EndpointSchedulerStop      = "/scheduler/stop"
	EndpointSchedulerStart     = "/scheduler/start"
	EndpointTaskStop           = "/tasks/{oid}/stop"
	EndpointReportFile         = "/reports/{oid}/file"
	EndpointStatus             = "/status"
)

// TaskStopPath is the path of EndpointTaskStop for a task.
func TaskStopPath(oid string) string { return "/tasks/" + url.PathEscape(oid) + "/stop" }

// ReportFilePath is the path of EndpointReportFile for a report.
func ReportFilePath(oid string) string { return "/reports/" + url.PathEscape(oid) + "/file" }

// CacheInvalidation is the body of POST /cache/invalidate. An empty Type means
// every cache; an empty OID every object of Type.
type CacheInvalidation struct {
	Type string `json:"type"`
	OID  string `json:"oid"`
	// Seq is the change log entry of the change (0: none), which the
	// receiver then need not apply again from the log.
	Seq int64 `json:"seq,omitempty"`
}

// SessionInvalidation is the body of POST /sessions/invalidate.
type SessionInvalidation struct {
	UserOID string `json:"userOid"`
	// All rebuilds every principal (a role changed); UserOID is then empty.
	All bool `json:"all,omitempty"`
	// Seq is the change log entry of the change (0: none).
	Seq int64 `json:"seq,omitempty"`
}

// TaskStopped is the answer of POST /tasks/{oid}/stop.
type TaskStopped struct {
	Stopped bool `json:"stopped"`
}
