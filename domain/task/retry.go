package task

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Bounds of a retry spec: more attempts or longer waits are a mistake rather
// than a plan, and an unbounded doubling would overflow.
const (
	MaxRetryAttempts = 100
	MaxRetryBackoff  = time.Hour
)

// Retry says how often a failed run or bucket is tried before its failure
// counts (DESIGN §4). The zero value is one attempt, no retry.
type Retry struct {
	// MaxAttempts is the number of attempts in all (1..MaxRetryAttempts).
	MaxAttempts int `json:"maxAttempts"`
	// BackoffMs is the wait before the second attempt, in milliseconds; it
	// doubles for every further attempt (0..MaxRetryBackoff).
	BackoffMs int64 `json:"backoffMs"`
}

// Validate checks the bounds; the error names the offending field.
func (r Retry) Validate() error {
	if r.MaxAttempts < 1 || r.MaxAttempts > MaxRetryAttempts {
		return fmt.Errorf("%w: retry.maxAttempts must be 1..%d (got %d)", ErrInvalid, MaxRetryAttempts, r.MaxAttempts)
	}
	if r.BackoffMs < 0 || r.BackoffMs > MaxRetryBackoff.Milliseconds() {
		return fmt.Errorf("%w: retry.backoffMs must be 0..%d (got %d)", ErrInvalid, MaxRetryBackoff.Milliseconds(), r.BackoffMs)
	}
	return nil
}

// Attempts is the number of attempts allowed: at least one.
func (r *Retry) Attempts() int64 {
	if r == nil || r.MaxAttempts < 1 {
		return 1
	}
	return int64(r.MaxAttempts)
}

// Backoff is the wait after the failed attempt number failed (1-based):
// BackoffMs doubled for every attempt before it, capped at MaxRetryBackoff,
// plus up to a fifth more at random, so that buckets failing together are
// not retried in lockstep.
func (r *Retry) Backoff(failed int64) time.Duration {
	if r == nil || r.BackoffMs <= 0 {
		return 0
	}
	d := time.Duration(r.BackoffMs) * time.Millisecond
	for i := int64(1); i < failed && d < MaxRetryBackoff; i++ {
		d *= 2
	}
	d = min(d, MaxRetryBackoff)
	return d + rand.N(d/5+1)
}

// Checkpoint is a handler's position inside its work: the items (and errors
// among them) done up to Position, which only the handler interprets.
type Checkpoint struct {
	Items    int64  `json:"items"`
	Errors   int64  `json:"errors"`
	Position string `json:"position"`
}
