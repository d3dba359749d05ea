package approval

import (
	"context"
	"errors"
	"fmt"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/security"
)

// Decide is the input of Service.Decide.
type Decide struct {
	Case    string
	Approve bool
	Comment string
}

// ErrSelfApproval is a decision by the user the case is for: an approver of
// a role who is given that role must not approve it alone (four eyes),
// unless Options.SelfApproval allows it. It is a security.ErrForbidden.
var ErrSelfApproval = fmt.Errorf("%w: the user a case is for may not decide it (four eyes; security/selfApproval)", security.ErrForbidden)

// conflictRetries is how often a decision is retried after a version
// conflict (SQLite's optimistic write): the retry sees the other decision.
const conflictRetries = 3

// Decide approves or rejects an open case. Only an approver of the case's
// role or a superuser may (security.ErrForbidden), and not the user the
// case is for (ErrSelfApproval) unless Options.SelfApproval; an unknown case is
// object.ErrNotFound; a case already decided is object.ErrCaseDecided, so of
// two people deciding at once on any nodes exactly one wins.
//
// Approving first creates the approval task suspended, then records the
// decision together with that task's OID in one conditional write, then
// resumes the task: a node that dies between the steps leaves either no
// decision (and a suspended task nobody will run) or a decided case whose
// task can be resumed, never an approved case without a task.
func (s *Service) Decide(ctx context.Context, p security.Principal, in Decide) (*object.Case, error) {
	c, err := s.getCase(ctx, in.Case)
	if errors.Is(err, object.ErrNotFound) && !p.CanRead() {
		// Someone who may not read cases learns nothing from the answer:
		// an unknown case is refused like one they may not decide.
		return nil, security.ErrForbidden
	}
	if err != nil {
		return nil, err
	}
	if err := s.mayDecide(ctx, p, c); err != nil {
		return nil, err
	}
	if c.State != object.CaseOpen { // the write below checks again, atomically
		return nil, c.Decide(p.UserOID, in.Approve, in.Comment, "", s.now())
	}
	if in.Approve {
		if err := s.stillThere(ctx, c); err != nil {
			return nil, err
		}
	}
	taskOID := ""
	if in.Approve {
		if taskOID, err = s.createTask(ctx, p, c); err != nil {
			return nil, err
		}
	}
	decided, err := s.record(ctx, p, in, taskOID)
	if err != nil {
		s.dropTask(ctx, taskOID)
		return nil, err
	}
	s.log.InfoContext(ctx, "approval case decided", "case", c.OID, "state", decided.State, "by", p.UserOID, "task", taskOID)
	if taskOID != "" {
		if _, err := s.tasks.Resume(ctx, taskOID); err != nil {
			// The decision stands; the task waits, suspended, for someone to resume it.
			s.log.ErrorContext(ctx, "start approval task; resume it to give the role", "case", c.OID, "task", taskOID, "err", err)
		}
	}
	return decided, nil
}

// ErrCaseObsolete is an approval of a case whose user or role has been
// deleted since it opened: the approval task could give nothing. Such a
// case can still be rejected, which closes it.
var ErrCaseObsolete = errors.New("the case's user or role no longer exists; reject the case to close it")

// stillThere checks that the user and the role of case c still exist.
func (s *Service) stillThere(ctx context.Context, c *object.Case) error {
	for _, ref := range []struct {
		t   object.Type
		oid string
	}{{object.TypeUser, c.User}, {object.TypeRole, c.Role}} {
		_, err := s.repo.Store().Get(ctx, ref.t, ref.oid)
		if errors.Is(err, object.ErrNotFound) {
			return fmt.Errorf("%w (%s %s)", ErrCaseObsolete, ref.t, ref.oid)
		}
		if err != nil {
			return fmt.Errorf("read %s %s of case %s: %w", ref.t, ref.oid, c.OID, err)
		}
	}
	return nil
}

func (s *Service) getCase(ctx context.Context, oid string) (*object.Case, error) {
	o, err := s.repo.Store().Get(ctx, object.TypeCase, oid)
	if err != nil {
		return nil, err
	}
	return o.(*object.Case), nil
}

// mayDecide allows superusers and the approvers of the case's role as it is
// now (a role deleted since leaves the case to superusers).
func (s *Service) mayDecide(ctx context.Context, p security.Principal, c *object.Case) error {
	if p.UserOID == c.User && !s.opts.SelfApproval {
		return ErrSelfApproval
	}
	if p.CanWrite() {
		return nil
	}
	o, err := s.repo.Store().Get(ctx, object.TypeRole, c.Role)
	if errors.Is(err, object.ErrNotFound) {
		return security.ErrForbidden
	}
	if err != nil {
		return fmt.Errorf("read role %s of case %s: %w", c.Role, c.OID, err)
	}
	if !o.(*object.Role).IsApprover(p.UserOID) {
		return security.ErrForbidden
	}
	return nil
}

// createTask makes the suspended approval task of case c.
func (s *Service) createTask(ctx context.Context, p security.Principal, c *object.Case) (string, error) {
	t, err := s.tasks.Create(ctx, taskmanager.CreateTask{
		Name:    "Approval " + c.OID,
		Handler: HandlerName, Owner: p.UserOID, Params: map[string]any{ParamCase: c.OID}, Suspended: true,
	})
	if err != nil {
		return "", fmt.Errorf("create approval task of case %s: %w", c.OID, err)
	}
	return t.OID, nil
}

// record writes the decision only while the case is still open: under the
// row lock on PostgreSQL, by version on SQLite (a conflict is retried, and
// the retry finds the case decided).
func (s *Service) record(ctx context.Context, p security.Principal, in Decide, taskOID string) (*object.Case, error) {
	var conflict *object.ConflictError
	for attempt := 1; ; attempt++ {
		o, err := s.repo.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeCase, OID: in.Case,
			Apply: func(o object.Object) error {
				return o.(*object.Case).Decide(p.UserOID, in.Approve, in.Comment, taskOID, s.now())
			}})
		if errors.As(err, &conflict) && attempt < conflictRetries {
			continue
		}
		if err != nil {
			return nil, err
		}
		return o.(*object.Case), nil
	}
}

// dropTask deletes the approval task of a decision that did not count.
func (s *Service) dropTask(ctx context.Context, oid string) {
	if oid == "" {
		return
	}
	if err := s.tasks.Delete(context.WithoutCancel(ctx), oid); err != nil {
		s.log.WarnContext(ctx, "delete the task of a decision that lost", "task", oid, "err", err)
	}
}
