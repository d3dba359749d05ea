package object

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"time"
)

// Authorizations a role can grant.
const (
	AuthSuperuser = "superuser" // everything
	AuthReader    = "reader"    // read every object, task and node
)

// KnownAuthorizations lists the authorizations Cadre understands.
var KnownAuthorizations = []string{AuthSuperuser, AuthReader}

// User is a person who can log in.
type User struct {
	Meta
	FullName     string
	EmailAddress string
	Enabled      bool
	Roles        []string
	// PasswordHash is a bcrypt hash; never sent over the API.
	PasswordHash string
	// GivenName and FamilyName are derived by recompute from FullName.
	GivenName  string
	FamilyName string
	// EffectiveAuthorizations are derived by recompute from Roles.
	EffectiveAuthorizations []string
}

// Type implements Object.
func (*User) Type() Type { return TypeUser }

// Validate implements Object.
func (u *User) Validate() error {
	if err := u.validateName(); err != nil {
		return err
	}
	if u.EmailAddress != "" {
		if _, err := mail.ParseAddress(u.EmailAddress); err != nil {
			return fmt.Errorf("%w: emailAddress %q is not an e-mail address", ErrInvalid, u.EmailAddress)
		}
	}
	return nil
}

// Role grants authorizations to the users who have it.
type Role struct {
	Meta
	Description    string
	Authorizations []string
	// Approvers are the OIDs of the users who must agree before anyone else
	// gives a user this role (an approval case); empty means no approval.
	Approvers []string
}

// NeedsApproval tells whether giving this role, done by the user requester
// (an OID), waits for an approver: it does unless the role has no approvers
// or the requester is one of them.
func (r *Role) NeedsApproval(requester string) bool {
	return len(r.Approvers) > 0 && !r.IsApprover(requester)
}

// IsApprover tells whether the user (an OID) is one of the role's approvers.
func (r *Role) IsApprover(user string) bool { return user != "" && slices.Contains(r.Approvers, user) }

// Type implements Object.
func (*Role) Type() Type { return TypeRole }

// Validate implements Object.
func (r *Role) Validate() error {
	if err := r.validateName(); err != nil {
		return err
	}
	for i, a := range r.Approvers {
		if a == "" || slices.Contains(r.Approvers[:i], a) {
			return fmt.Errorf("%w: approvers must be distinct user OIDs, got %q twice or empty", ErrInvalid, a)
		}
	}
	for _, a := range r.Authorizations {
		if !slices.Contains(KnownAuthorizations, a) {
			return fmt.Errorf("%w: unknown authorization %q (known: %v)", ErrInvalid, a, KnownAuthorizations)
		}
	}
	return nil
}

// Archetype is a globally cached object type.
type Archetype struct {
	Meta
	Description string
}

// Type implements Object.
func (*Archetype) Type() Type { return TypeArchetype }

// Validate implements Object.
func (a *Archetype) Validate() error { return a.validateName() }

// ObjectTemplate is a globally cached object type.
type ObjectTemplate struct {
	Meta
	Description string
}

// Type implements Object.
func (*ObjectTemplate) Type() Type { return TypeObjectTemplate }

// Validate implements Object.
func (o *ObjectTemplate) Validate() error { return o.validateName() }

// Report records a report file written on one node's disk.
type Report struct {
	Meta
	Node      string
	FileName  string
	Task      string
	CreatedAt time.Time
}

// Type implements Object.
func (*Report) Type() Type { return TypeReport }

// Validate implements Object. FileName must be a plain file name in the
// report directory: letters, digits, spaces, '.', '_' and '-', not starting with
// '.' or a space, ending in ".csv", at most 255 bytes (no path, no "..", no hidden
// file). A report whose file cannot be named is refused when written, not
// when downloaded.
func (r *Report) Validate() error {
	if err := r.validateName(); err != nil {
		return err
	}
	if !reportFileName.MatchString(r.FileName) || len(r.FileName) > 255 {
		return fmt.Errorf("%w: fileName %q is not a plain report file name (letters, digits, spaces, '.', '_', '-'; ending in .csv; not starting with '.' or a space)", ErrInvalid, r.FileName)
	}
	return nil
}

var reportFileName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._ -]*\.csv$`)

// SystemConfiguration is the singleton holding cluster-wide settings.
type SystemConfiguration struct {
	Meta
	Infrastructure        Infrastructure
	DeploymentInformation DeploymentInformation
}

// Infrastructure settings.
type Infrastructure struct {
	// IntraClusterHTTPURLPattern builds node URLs from $host, $port and $path.
	IntraClusterHTTPURLPattern string
}

// DeploymentInformation describes the deployment.
type DeploymentInformation struct {
	SubscriptionIdentifier string
}

// Type implements Object.
func (*SystemConfiguration) Type() Type { return TypeSystemConfiguration }

// Validate implements Object.
func (s *SystemConfiguration) Validate() error { return s.validateName() }
