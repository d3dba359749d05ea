package cluster

import "errors"

// Errors of a call from one node to another (a scheduler stop or start
// forwarded to the node it concerns). The peer adapter returns them, so the
// driving side can explain a failed call without knowing the adapter.
var (
	// ErrUnreachable: the node did not answer (no URL, connection refused,
	// timeout).
	ErrUnreachable = errors.New("node unreachable")
	// ErrUnauthorized: the node refused the call as unauthorized.
	ErrUnauthorized = errors.New("peer rejected the call as unauthorized")
)
