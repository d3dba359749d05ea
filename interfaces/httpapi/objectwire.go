package httpapi

import (
	"fmt"
	"time"

	"cadre/domain/object"
)

// The REST forms of repository objects, mapped from and to the domain
// explicitly so that the domain can change without changing the API
// (TestWireTypesMatchOpenAPI holds them to openapi.yaml).
//
// Response fields are declared in the alphabetical order of their JSON
// names: the API has always sent an object's members sorted (it once sent
// a map), and clients may compare bodies byte for byte.

// UserJSON is a user as the API sends it; the password hash never leaves.
type UserJSON struct {
	CreatedAt               time.Time `json:"createdAt"`
	EffectiveAuthorizations []string  `json:"effectiveAuthorizations,omitempty"`
	EmailAddress            string    `json:"emailAddress"`
	Enabled                 bool      `json:"enabled"`
	FamilyName              string    `json:"familyName,omitempty"`
	FullName                string    `json:"fullName"`
	GivenName               string    `json:"givenName,omitempty"`
	ModifiedAt              time.Time `json:"modifiedAt"`
	Name                    string    `json:"name"`
	OID                     string    `json:"oid"`
	Roles                   []string  `json:"roles"`
	Version                 int64     `json:"version"`
}

// RoleJSON is a role as the API sends it.
type RoleJSON struct {
	Approvers      []string  `json:"approvers"`
	Authorizations []string  `json:"authorizations"`
	CreatedAt      time.Time `json:"createdAt"`
	Description    string    `json:"description"`
	ModifiedAt     time.Time `json:"modifiedAt"`
	Name           string    `json:"name"`
	OID            string    `json:"oid"`
	Version        int64     `json:"version"`
}

// DescribedJSON is an archetype or an object template as the API sends it
// (the two have the same fields).
type DescribedJSON struct {
	CreatedAt   time.Time `json:"createdAt"`
	Description string    `json:"description"`
	ModifiedAt  time.Time `json:"modifiedAt"`
	Name        string    `json:"name"`
	OID         string    `json:"oid"`
	Version     int64     `json:"version"`
}

// ReportJSON is a report as the API sends it; its createdAt is when the
// report file was written.
type ReportJSON struct {
	CreatedAt  time.Time `json:"createdAt"`
	FileName   string    `json:"fileName"`
	ModifiedAt time.Time `json:"modifiedAt"`
	Name       string    `json:"name"`
	Node       string    `json:"node"`
	OID        string    `json:"oid"`
	Task       string    `json:"task"`
	Version    int64     `json:"version"`
}

// SystemConfigurationJSON is the system configuration as the API sends it.
type SystemConfigurationJSON struct {
	CreatedAt             time.Time                 `json:"createdAt"`
	DeploymentInformation DeploymentInformationJSON `json:"deploymentInformation"`
	Infrastructure        InfrastructureJSON        `json:"infrastructure"`
	ModifiedAt            time.Time                 `json:"modifiedAt"`
	Name                  string                    `json:"name"`
	OID                   string                    `json:"oid"`
	Version               int64                     `json:"version"`
}

// InfrastructureJSON is the system configuration's infrastructure part.
type InfrastructureJSON struct {
	IntraClusterHTTPURLPattern string `json:"intraClusterHttpUrlPattern"`
}

// DeploymentInformationJSON is the system configuration's deployment part.
type DeploymentInformationJSON struct {
	SubscriptionIdentifier string `json:"subscriptionIdentifier"`
}

// CaseJSON is an approval case as the API sends it.
type CaseJSON struct {
	AppliedAt  *time.Time `json:"appliedAt"`
	Comment    string     `json:"comment"`
	CreatedAt  time.Time  `json:"createdAt"`
	DecidedAt  *time.Time `json:"decidedAt"`
	DecidedBy  string     `json:"decidedBy"`
	ModifiedAt time.Time  `json:"modifiedAt"`
	Name       string     `json:"name"`
	OID        string     `json:"oid"`
	Requester  string     `json:"requester"`
	Role       string     `json:"role"`
	State      string     `json:"state"`
	Task       string     `json:"task"`
	User       string     `json:"user"`
	Version    int64      `json:"version"`
}

// ObjectJSON is the API form of an object.
func ObjectJSON(o object.Object) any {
	m := o.ObjectMeta()
	switch v := o.(type) {
	case *object.User:
		return UserJSON{
			CreatedAt: m.CreatedAt, EffectiveAuthorizations: v.EffectiveAuthorizations, EmailAddress: v.EmailAddress,
			Enabled: v.Enabled, FamilyName: v.FamilyName, FullName: v.FullName, GivenName: v.GivenName,
			ModifiedAt: m.ModifiedAt, Name: m.Name, OID: m.OID, Roles: nonNil(v.Roles), Version: m.Version,
		}
	case *object.Role:
		return RoleJSON{
			Approvers: nonNil(v.Approvers), Authorizations: nonNil(v.Authorizations), CreatedAt: m.CreatedAt,
			Description: v.Description, ModifiedAt: m.ModifiedAt, Name: m.Name, OID: m.OID, Version: m.Version,
		}
	case *object.Archetype:
		return describedJSON(m, v.Description)
	case *object.ObjectTemplate:
		return describedJSON(m, v.Description)
	case *object.Report:
		return ReportJSON{
			CreatedAt: v.CreatedAt, FileName: v.FileName, ModifiedAt: m.ModifiedAt, Name: m.Name, Node: v.Node,
			OID: m.OID, Task: v.Task, Version: m.Version,
		}
	case *object.SystemConfiguration:
		return SystemConfigurationJSON{
			CreatedAt:             m.CreatedAt,
			DeploymentInformation: DeploymentInformationJSON{SubscriptionIdentifier: v.DeploymentInformation.SubscriptionIdentifier},
			Infrastructure:        InfrastructureJSON{IntraClusterHTTPURLPattern: v.Infrastructure.IntraClusterHTTPURLPattern},
			ModifiedAt:            m.ModifiedAt, Name: m.Name, OID: m.OID, Version: m.Version,
		}
	case *object.Case:
		return CaseJSON{
			AppliedAt: v.AppliedAt, Comment: v.Comment, CreatedAt: m.CreatedAt, DecidedAt: v.DecidedAt,
			DecidedBy: v.DecidedBy, ModifiedAt: m.ModifiedAt, Name: m.Name, OID: m.OID, Requester: v.Requester,
			Role: v.Role, State: string(v.State), Task: v.Task, User: v.User, Version: m.Version,
		}
	}
	panic(fmt.Sprintf("httpapi: no REST form for object type %s (%T)", o.Type(), o))
}

func describedJSON(m *object.Meta, description string) DescribedJSON {
	return DescribedJSON{
		CreatedAt: m.CreatedAt, Description: description, ModifiedAt: m.ModifiedAt,
		Name: m.Name, OID: m.OID, Version: m.Version,
	}
}

// nonNil sends an absent list as [], never null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// The request forms: the fields a client may set in a POST or a PATCH body.
// A body is decoded over the object's current request form, so that a PATCH
// changes only the members it names, then the form is applied back. The
// password, the version and the fields no client may set are taken out of
// the body before (decodeObjectPatch).

// UserInput is what a client may set on a user.
type UserInput struct {
	OID          string   `json:"oid"`
	Name         string   `json:"name"`
	FullName     string   `json:"fullName"`
	EmailAddress string   `json:"emailAddress"`
	Enabled      bool     `json:"enabled"`
	Roles        []string `json:"roles"`
	// GivenName and FamilyName are accepted, as they always were, though
	// recompute derives them from fullName.
	GivenName  string `json:"givenName"`
	FamilyName string `json:"familyName"`
}

func (in *UserInput) read(u *object.User) {
	*in = UserInput{
		OID: u.OID, Name: u.Name, FullName: u.FullName, EmailAddress: u.EmailAddress, Enabled: u.Enabled,
		Roles: u.Roles, GivenName: u.GivenName, FamilyName: u.FamilyName,
	}
}

func (in *UserInput) apply(u *object.User) {
	u.OID, u.Name, u.FullName, u.EmailAddress, u.Enabled = in.OID, in.Name, in.FullName, in.EmailAddress, in.Enabled
	u.Roles, u.GivenName, u.FamilyName = in.Roles, in.GivenName, in.FamilyName
}

// RoleInput is what a client may set on a role.
type RoleInput struct {
	OID            string   `json:"oid"`
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	Authorizations []string `json:"authorizations"`
	Approvers      []string `json:"approvers"`
}

func (in *RoleInput) read(r *object.Role) {
	*in = RoleInput{OID: r.OID, Name: r.Name, Description: r.Description, Authorizations: r.Authorizations, Approvers: r.Approvers}
}

func (in *RoleInput) apply(r *object.Role) {
	r.OID, r.Name, r.Description, r.Authorizations, r.Approvers = in.OID, in.Name, in.Description, in.Authorizations, in.Approvers
}

// DescribedInput is what a client may set on an archetype or an object template.
type DescribedInput struct {
	OID         string `json:"oid"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ReportInput is what a client may set on a report.
type ReportInput struct {
	OID      string `json:"oid"`
	Name     string `json:"name"`
	Node     string `json:"node"`
	FileName string `json:"fileName"`
	Task     string `json:"task"`
}

// SystemConfigurationInput is what a client may set on the system configuration.
type SystemConfigurationInput struct {
	OID                   string                    `json:"oid"`
	Name                  string                    `json:"name"`
	Infrastructure        InfrastructureJSON        `json:"infrastructure"`
	DeploymentInformation DeploymentInformationJSON `json:"deploymentInformation"`
}

// CaseInput is the shape of a case in a request body. The repository
// refuses adding or modifying a case; the form only lets a body naming a
// case's fields reach that refusal instead of failing as unknown fields.
type CaseInput struct {
	OID       string     `json:"oid"`
	Name      string     `json:"name"`
	State     string     `json:"state"`
	Requester string     `json:"requester"`
	User      string     `json:"user"`
	Role      string     `json:"role"`
	DecidedBy string     `json:"decidedBy"`
	Comment   string     `json:"comment"`
	DecidedAt *time.Time `json:"decidedAt"`
	Task      string     `json:"task"`
	AppliedAt *time.Time `json:"appliedAt"`
}

// decodeObjectInput decodes a request body's fields over o's request form
// and applies them to o.
func decodeObjectInput(fields []byte, o object.Object) error {
	switch v := o.(type) {
	case *object.User:
		var in UserInput
		in.read(v)
		return decodeApply(fields, &in, func() { in.apply(v) })
	case *object.Role:
		var in RoleInput
		in.read(v)
		return decodeApply(fields, &in, func() { in.apply(v) })
	case *object.Archetype:
		in := DescribedInput{OID: v.OID, Name: v.Name, Description: v.Description}
		return decodeApply(fields, &in, func() { v.OID, v.Name, v.Description = in.OID, in.Name, in.Description })
	case *object.ObjectTemplate:
		in := DescribedInput{OID: v.OID, Name: v.Name, Description: v.Description}
		return decodeApply(fields, &in, func() { v.OID, v.Name, v.Description = in.OID, in.Name, in.Description })
	case *object.Report:
		in := ReportInput{OID: v.OID, Name: v.Name, Node: v.Node, FileName: v.FileName, Task: v.Task}
		return decodeApply(fields, &in, func() { v.OID, v.Name, v.Node, v.FileName, v.Task = in.OID, in.Name, in.Node, in.FileName, in.Task })
	case *object.SystemConfiguration:
		return decodeSystemConfiguration(fields, v)
	case *object.Case:
		return decodeCase(fields, v)
	}
	return fmt.Errorf("objects of type %s cannot be written over the API", o.Type())
}

// decodeApply decodes fields strictly into the request form in and, when
// that succeeds, runs apply.
func decodeApply(fields []byte, in any, apply func()) error {
	if err := DecodeStrict(fields, in); err != nil {
		return err
	}
	apply()
	return nil
}

func decodeSystemConfiguration(fields []byte, s *object.SystemConfiguration) error {
	in := SystemConfigurationInput{
		OID: s.OID, Name: s.Name,
		Infrastructure:        InfrastructureJSON{IntraClusterHTTPURLPattern: s.Infrastructure.IntraClusterHTTPURLPattern},
		DeploymentInformation: DeploymentInformationJSON{SubscriptionIdentifier: s.DeploymentInformation.SubscriptionIdentifier},
	}
	return decodeApply(fields, &in, func() {
		s.OID, s.Name = in.OID, in.Name
		s.Infrastructure.IntraClusterHTTPURLPattern = in.Infrastructure.IntraClusterHTTPURLPattern
		s.DeploymentInformation.SubscriptionIdentifier = in.DeploymentInformation.SubscriptionIdentifier
	})
}

func decodeCase(fields []byte, c *object.Case) error {
	in := CaseInput{
		OID: c.OID, Name: c.Name, State: string(c.State), Requester: c.Requester, User: c.User, Role: c.Role,
		DecidedBy: c.DecidedBy, Comment: c.Comment, DecidedAt: c.DecidedAt, Task: c.Task, AppliedAt: c.AppliedAt,
	}
	return decodeApply(fields, &in, func() {
		c.OID, c.Name, c.State, c.Requester, c.User, c.Role = in.OID, in.Name, object.CaseState(in.State), in.Requester, in.User, in.Role
		c.DecidedBy, c.Comment, c.DecidedAt, c.Task, c.AppliedAt = in.DecidedBy, in.Comment, in.DecidedAt, in.Task, in.AppliedAt
	})
}
