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

func (n Numeric) segment() ([]Content, error) {
	if n.To <= n.From {
		return nil, fmt.Errorf("%w: numeric bucketing needs to > from (from %d, to %d)", ErrInvalid, n.From, n.To)
	}
	size := n.BucketSize
	span := n.To - n.From
	switch {
	case size > 0 && n.NumberOfBuckets > 0:
		return nil, fmt.Errorf("%w: numeric bucketing takes bucketSize or numberOfBuckets, not both", ErrInvalid)
	case size > 0:
	case n.NumberOfBuckets > 0:
		size = (span + n.NumberOfBuckets - 1) / n.NumberOfBuckets
	default:
		return nil, fmt.Errorf("%w: numeric bucketing needs bucketSize or numberOfBuckets", ErrInvalid)
	}
	if (span+size-1)/size > MaxBuckets {
		return nil, fmt.Errorf("%w: numeric bucketing would make more than %d buckets", ErrInvalid, MaxBuckets)
	}
	var out []Content
	for from := n.From; from < n.To; from += size {
		f, t := from, min(from+size, n.To)
		out = append(out, Content{From: &f, To: &t})
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
	_, err := b.Segment()
	return err
}
