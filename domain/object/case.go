package object

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// TypeCase is the approval case type: a request to give a user a role whose
// approvers have not agreed yet (midPoint's "workflow approvals").
const TypeCase Type = "cases"

// CaseState is where an approval case stands.
type CaseState string

// Case states. A case is decided once: open → approved or rejected.
const (
	CaseOpen     CaseState = "open"
	CaseApproved CaseState = "approved"
	CaseRejected CaseState = "rejected"
)

// ErrCaseDecided refuses a second decision of a case (someone decided first).
var ErrCaseDecided = errors.New("case already decided")

// ErrCaseReadOnly refuses adding or modifying a case as a plain object: cases
// are opened by assigning a role and decided by approve or reject.
var ErrCaseReadOnly = fmt.Errorf("%w: approval cases are opened by assigning a role that has approvers, "+
	"and decided by approving or rejecting them; they cannot be added or modified directly", ErrInvalid)

// Case asks the approvers of Role to agree that User gets it. CreatedAt is
// the Meta's (when the request was made).
type Case struct {
	Meta
	State CaseState
	// Requester is the OID of the user who assigned the role.
	Requester string
	// User and Role are the OIDs of the user who is to get the role and of the role.
	User string
	Role string
	// DecidedBy is the OID of the user who approved or rejected; "" while open.
	DecidedBy string
	Comment   string
	DecidedAt *time.Time
	// Task is the OID of the approval task that gives the role (approved cases).
	Task string
	// AppliedAt is when the approval task gave the user the role; nil until then.
	AppliedAt *time.Time
}

// NewCase opens a case; name is what lists show (it must be unique among cases).
func NewCase(name, requester, user, role string) *Case {
	return &Case{Meta: Meta{Name: name}, State: CaseOpen, Requester: requester, User: user, Role: role}
}

// Type implements Object.
func (*Case) Type() Type { return TypeCase }

// maxCommentLength bounds a decision's comment, in bytes.
const maxCommentLength = 4000

// Decide approves or rejects an open case, once; task is the approval task
// that will give the role (approve only). A decided case answers ErrCaseDecided.
func (c *Case) Decide(by string, approve bool, comment, task string, now time.Time) error {
	if c.State != CaseOpen {
		return fmt.Errorf("%w: case %s was %s by %s at %s", ErrCaseDecided, c.OID, c.State, c.DecidedBy, c.DecidedAt.UTC().Format(time.RFC3339))
	}
	if len(comment) > maxCommentLength {
		return fmt.Errorf("%w: comment is longer than %d bytes", ErrInvalid, maxCommentLength)
	}
	c.State = CaseRejected
	if approve {
		c.State, c.Task = CaseApproved, task
	}
	at := now.UTC()
	c.DecidedBy, c.Comment, c.DecidedAt = by, comment, &at
	return nil
}

// MarkApplied records that the approval task gave the user the role; a case
// already marked keeps its first time.
func (c *Case) MarkApplied(now time.Time) {
	if c.AppliedAt == nil {
		at := now.UTC()
		c.AppliedAt = &at
	}
}

// Validate implements Object.
func (c *Case) Validate() error {
	if err := c.validateName(); err != nil {
		return err
	}
	if !slices.Contains([]CaseState{CaseOpen, CaseApproved, CaseRejected}, c.State) {
		return fmt.Errorf("%w: case state %q is not open, approved or rejected", ErrInvalid, c.State)
	}
	if c.User == "" || c.Role == "" || c.Requester == "" {
		return fmt.Errorf("%w: a case needs a user, a role and a requester", ErrInvalid)
	}
	if (c.State == CaseOpen) != (c.DecidedAt == nil) {
		return fmt.Errorf("%w: a case has a decision time exactly when it is decided", ErrInvalid)
	}
	return nil
}
