package cluster

import (
	"errors"
	"fmt"
)

// Errors of a call from one node to another (a scheduler stop or start
// forwarded to the node it concerns). The peer adapter returns them, so the
// driving side can explain a failed call without knowing the adapter.
var (
	// ErrUnreachable: the node did not answer (no URL, connection refused,
	// timeout).
	ErrUnreachable = errors.New("node unreachable")
	// ErrUnauthorized: the node refused the call as unauthorized.
	ErrUnauthorized = errors.New("peer rejected the call as unauthorized")
	// ErrTimeout: the node did not answer in time; it is an ErrUnreachable.
	ErrTimeout = fmt.Errorf("%w: timed out", ErrUnreachable)
	// ErrBadAnswer: the node answered, but with a server error or with
	// something that is not the answer the call expects.
	ErrBadAnswer = errors.New("node gave no usable answer")
)
