package task

import (
	"fmt"
	"strings"
	"time"
)

// BucketState of a work bucket.
type BucketState string

// Bucket states (DESIGN §5).
const (
	BucketReady     BucketState = "READY"
	BucketDelegated BucketState = "DELEGATED"
	BucketComplete  BucketState = "COMPLETE"
)

// Content is what a bucket covers: a numeric interval [From, To), an OID
// prefix interval [From, To) over hex strings, or one explicit value.
type Content struct {
	From    *int64 `json:"from,omitempty"`
	To      *int64 `json:"to,omitempty"`
	OIDFrom string `json:"oidFrom,omitempty"`
	OIDTo   string `json:"oidTo,omitempty"`
	Value   string `json:"value,omitempty"`
}

// Bucket is one segment of a coordinator's work.
type Bucket struct {
	TaskOID        string
	Seq            int64
	State          BucketState
	Worker         string
	Node           string
	Epoch          int64
	Content        Content
	ItemsProcessed int64
	ClaimedAt      *time.Time
	CompletedAt    *time.Time
	// Attempts counts the bucket's finished attempts (failed or completed);
	// an attempt cut short by its node's death or a stop is not one.
	// LastError is the error of the last failed attempt.
	Attempts  int64
	LastError string
	// Checkpoint is the last position its handler recorded in the bucket,
	// nil for none; ResumedFrom is the checkpoint its current (or last)
	// holder started from, nil when it started from the beginning.
	Checkpoint  *Checkpoint
	ResumedFrom *Checkpoint
	// NotBefore is when a failed bucket may be claimed again; nil when it
	// does not wait.
	NotBefore *time.Time
}

// Complete accepts completion only from the holder of the current epoch.
func (b *Bucket) Complete(epoch, items int64, now time.Time) error {
	if b.State != BucketDelegated || b.Epoch != epoch {
		return fmt.Errorf("%w: bucket %d at epoch %d, completion for epoch %d", ErrFenced, b.Seq, b.Epoch, epoch)
	}
	b.State, b.ItemsProcessed, b.CompletedAt = BucketComplete, items, &now
	return nil
}

// Bucketing says how a task's work is split (DESIGN §5); exactly one of the fields is set.
type Bucketing struct {
	Numeric   *Numeric   `json:"numeric,omitempty"`
	OIDPrefix *OIDPrefix `json:"oidPrefix,omitempty"`
	Explicit  []string   `json:"explicit,omitempty"`
}

// Numeric segmentation of [From, To).
type Numeric struct {
	From            int64 `json:"from"`
	To              int64 `json:"to"`
	BucketSize      int64 `json:"bucketSize,omitempty"`
	NumberOfBuckets int64 `json:"numberOfBuckets,omitempty"`
}

// OIDPrefix segmentation by the first Depth hex digits of OIDs.
type OIDPrefix struct {
	Depth int `json:"depth"`
}

// MaxBuckets bounds how many buckets one task may have.
const MaxBuckets = 1_000_000

// Segment computes the buckets' contents.
func (b Bucketing) Segment() ([]Content, error) {
	set := 0
	if b.Numeric != nil {
		set++
	}
	if b.OIDPrefix != nil {
		set++
	}
	if b.Explicit != nil {
		set++
	}
	if set != 1 {
		return nil, fmt.Errorf("%w: bucketing needs exactly one of numeric, oidPrefix, explicit", ErrInvalid)
	}
	switch {
	case b.Numeric != nil:
		return b.Numeric.segment()
	case b.OIDPrefix != nil:
		return b.OIDPrefix.segment()
	}
	if len(b.Explicit) == 0 || len(b.Explicit) > MaxBuckets {
		return nil, fmt.Errorf("%w: explicit bucketing needs 1..%d values", ErrInvalid, MaxBuckets)
	}
	out := make([]Content, len(b.Explicit))
	for i, v := range b.Explicit {
		out[i] = Content{Value: v}
	}
	return out, nil
}

// count checks the numeric definition and returns the bucket size and the
// number of buckets. The span To-From can exceed the int64 range (from
// -9e18 to 9e18), so it is computed in uint64, where To > From makes the
// difference exact.
func (n Numeric) count() (size, count uint64, err error) {
	if n.To <= n.From {
		return 0, 0, fmt.Errorf("%w: numeric bucketing needs to > from (from %d, to %d)", ErrInvalid, n.From, n.To)
	}
	span := uint64(n.To) - uint64(n.From)
	switch {
	case n.BucketSize < 0:
		return 0, 0, fmt.Errorf("%w: numeric bucketing needs a positive bucketSize (got %d)", ErrInvalid, n.BucketSize)
	case n.NumberOfBuckets < 0:
		return 0, 0, fmt.Errorf("%w: numeric bucketing needs a positive numberOfBuckets (got %d)", ErrInvalid, n.NumberOfBuckets)
	case n.BucketSize > 0 && n.NumberOfBuckets > 0:
		return 0, 0, fmt.Errorf("%w: numeric bucketing takes bucketSize or numberOfBuckets, not both", ErrInvalid)
	case n.BucketSize > 0:
		size = uint64(n.BucketSize)
	case n.NumberOfBuckets > 0:
		if n.NumberOfBuckets > MaxBuckets {
			return 0, 0, fmt.Errorf("%w: numeric bucketing allows at most %d buckets (numberOfBuckets %d)", ErrInvalid, MaxBuckets, n.NumberOfBuckets)
		}
		size = ceilDiv(span, uint64(n.NumberOfBuckets))
	default:
		return 0, 0, fmt.Errorf("%w: numeric bucketing needs bucketSize or numberOfBuckets", ErrInvalid)
	}
	count = ceilDiv(span, size)
	if count > MaxBuckets {
		return 0, 0, fmt.Errorf("%w: numeric bucketing would make %d buckets, more than the %d allowed", ErrInvalid, count, MaxBuckets)
	}
	return size, count, nil
}

// ceilDiv is ⌈a/b⌉ without overflow; b > 0.
func ceilDiv(a, b uint64) uint64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// segment splits [From, To) into count intervals of size (the last may be
// shorter). Offsets are added in uint64 so no step wraps around.
func (n Numeric) segment() ([]Content, error) {
	size, count, err := n.count()
	if err != nil {
		return nil, err
	}
	span := uint64(n.To) - uint64(n.From)
	out := make([]Content, count)
	for i := range count {
		off := i * size
		f, t := int64(uint64(n.From)+off), n.To
		if span-off > size {
			t = int64(uint64(n.From) + off + size)
		}
		out[i] = Content{From: &f, To: &t}
	}
	return out, nil
}

const hexDigits = "0123456789abcdef"

func (p OIDPrefix) segment() ([]Content, error) {
	if p.Depth < 1 || p.Depth > 4 {
		return nil, fmt.Errorf("%w: oidPrefix depth must be 1..4", ErrInvalid)
	}
	n := 1 << (4 * p.Depth)
	out := make([]Content, n)
	for i := range n {
		from := fmt.Sprintf("%0*x", p.Depth, i)
		to := ""
		if i+1 < n {
			to = fmt.Sprintf("%0*x", p.Depth, i+1)
		}
		out[i] = Content{OIDFrom: from, OIDTo: to}
	}
	return out, nil
}

// ContainsOID reports whether an OID falls into an OID-prefix bucket.
func (c Content) ContainsOID(oid string) bool {
	oid = strings.ToLower(oid)
	return oid >= c.OIDFrom && (c.OIDTo == "" || oid < c.OIDTo)
}

// Validate checks the bucketing definition without building all buckets.
func (b Bucketing) Validate() error {
	if b.Numeric != nil && b.OIDPrefix == nil && b.Explicit == nil {
		_, _, err := b.Numeric.count()
		return err
	}
	_, err := b.Segment()
	return err
}
