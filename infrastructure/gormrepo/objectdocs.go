package gormrepo

import (
	"encoding/json"
	"fmt"
	"time"

	"cadre/domain/object"
)

// The objects table keeps each object's fields as a JSON document in its
// data column. The documents below are that storage format, mapped to and
// from the domain explicitly, so that renaming a domain field cannot change
// the stored data. Their json names are the ones the domain structs wrote
// before this mapping existed: databases written then read back unchanged
// (TestStoredObjectFormat holds them to it).

// metaDoc repeats the row's columns at the start of every document; on read
// the columns are authoritative and these are ignored.
type metaDoc struct {
	OID        string    `json:"oid"`
	Name       string    `json:"name"`
	Version    int64     `json:"version"`
	CreatedAt  time.Time `json:"createdAt"`
	ModifiedAt time.Time `json:"modifiedAt"`
}

func newMetaDoc(m *object.Meta) metaDoc {
	return metaDoc{OID: m.OID, Name: m.Name, Version: m.Version, CreatedAt: m.CreatedAt, ModifiedAt: m.ModifiedAt}
}

type userDoc struct {
	metaDoc
	FullName                string   `json:"fullName"`
	EmailAddress            string   `json:"emailAddress"`
	Enabled                 bool     `json:"enabled"`
	Roles                   []string `json:"roles"`
	PasswordHash            string   `json:"passwordHash,omitempty"`
	GivenName               string   `json:"givenName,omitempty"`
	FamilyName              string   `json:"familyName,omitempty"`
	EffectiveAuthorizations []string `json:"effectiveAuthorizations,omitempty"`
}

func newUserDoc(u *object.User) userDoc {
	return userDoc{
		metaDoc: newMetaDoc(&u.Meta), FullName: u.FullName, EmailAddress: u.EmailAddress, Enabled: u.Enabled,
		Roles: nonNil(u.Roles), PasswordHash: u.PasswordHash, GivenName: u.GivenName, FamilyName: u.FamilyName,
		EffectiveAuthorizations: u.EffectiveAuthorizations,
	}
}

func (d userDoc) toDomain() object.Object {
	return &object.User{
		FullName: d.FullName, EmailAddress: d.EmailAddress, Enabled: d.Enabled, Roles: d.Roles,
		PasswordHash: d.PasswordHash, GivenName: d.GivenName, FamilyName: d.FamilyName,
		EffectiveAuthorizations: d.EffectiveAuthorizations,
	}
}

type roleDoc struct {
	metaDoc
	Description    string   `json:"description"`
	Authorizations []string `json:"authorizations"`
	Approvers      []string `json:"approvers"`
}

func newRoleDoc(r *object.Role) roleDoc {
	return roleDoc{
		metaDoc: newMetaDoc(&r.Meta), Description: r.Description,
		Authorizations: nonNil(r.Authorizations), Approvers: nonNil(r.Approvers),
	}
}

func (d roleDoc) toDomain() object.Object {
	return &object.Role{Description: d.Description, Authorizations: d.Authorizations, Approvers: d.Approvers}
}

// describedDoc is the format of archetypes and object templates, which have
// the same fields.
type describedDoc struct {
	metaDoc
	Description string `json:"description"`
}

type archetypeDoc struct{ describedDoc }

func (d archetypeDoc) toDomain() object.Object { return &object.Archetype{Description: d.Description} }

type objectTemplateDoc struct{ describedDoc }

func (d objectTemplateDoc) toDomain() object.Object {
	return &object.ObjectTemplate{Description: d.Description}
}

// reportDoc has no createdAt of the row: the report's own creation time took
// that key in the format the domain struct wrote, and the row's created_at
// column keeps the object's.
type reportDoc struct {
	OID        string    `json:"oid"`
	Name       string    `json:"name"`
	Version    int64     `json:"version"`
	ModifiedAt time.Time `json:"modifiedAt"`
	Node       string    `json:"node"`
	FileName   string    `json:"fileName"`
	Task       string    `json:"task"`
	CreatedAt  time.Time `json:"createdAt"`
}

func newReportDoc(r *object.Report) reportDoc {
	return reportDoc{
		OID: r.OID, Name: r.Name, Version: r.Version, ModifiedAt: r.ModifiedAt,
		Node: r.Node, FileName: r.FileName, Task: r.Task, CreatedAt: r.CreatedAt,
	}
}

func (d reportDoc) toDomain() object.Object {
	return &object.Report{Node: d.Node, FileName: d.FileName, Task: d.Task, CreatedAt: d.CreatedAt}
}

type systemConfigurationDoc struct {
	metaDoc
	Infrastructure struct {
		IntraClusterHTTPURLPattern string `json:"intraClusterHttpUrlPattern"`
	} `json:"infrastructure"`
	DeploymentInformation struct {
		SubscriptionIdentifier string `json:"subscriptionIdentifier"`
	} `json:"deploymentInformation"`
}

func newSystemConfigurationDoc(s *object.SystemConfiguration) systemConfigurationDoc {
	d := systemConfigurationDoc{metaDoc: newMetaDoc(&s.Meta)}
	d.Infrastructure.IntraClusterHTTPURLPattern = s.Infrastructure.IntraClusterHTTPURLPattern
	d.DeploymentInformation.SubscriptionIdentifier = s.DeploymentInformation.SubscriptionIdentifier
	return d
}

func (d systemConfigurationDoc) toDomain() object.Object {
	return &object.SystemConfiguration{
		Infrastructure:        object.Infrastructure{IntraClusterHTTPURLPattern: d.Infrastructure.IntraClusterHTTPURLPattern},
		DeploymentInformation: object.DeploymentInformation{SubscriptionIdentifier: d.DeploymentInformation.SubscriptionIdentifier},
	}
}

type caseDoc struct {
	metaDoc
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

func newCaseDoc(c *object.Case) caseDoc {
	return caseDoc{
		metaDoc: newMetaDoc(&c.Meta), State: string(c.State), Requester: c.Requester, User: c.User, Role: c.Role,
		DecidedBy: c.DecidedBy, Comment: c.Comment, DecidedAt: c.DecidedAt, Task: c.Task, AppliedAt: c.AppliedAt,
	}
}

func (d caseDoc) toDomain() object.Object {
	return &object.Case{
		State: object.CaseState(d.State), Requester: d.Requester, User: d.User, Role: d.Role,
		DecidedBy: d.DecidedBy, Comment: d.Comment, DecidedAt: d.DecidedAt, Task: d.Task, AppliedAt: d.AppliedAt,
	}
}

// nonNil stores an absent list as [] rather than null, as the format always has.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// encodeObject returns the stored document of an object.
func encodeObject(o object.Object) ([]byte, error) {
	var doc any
	switch v := o.(type) {
	case *object.User:
		doc = newUserDoc(v)
	case *object.Role:
		doc = newRoleDoc(v)
	case *object.Archetype:
		doc = archetypeDoc{describedDoc{metaDoc: newMetaDoc(&v.Meta), Description: v.Description}}
	case *object.ObjectTemplate:
		doc = objectTemplateDoc{describedDoc{metaDoc: newMetaDoc(&v.Meta), Description: v.Description}}
	case *object.Report:
		doc = newReportDoc(v)
	case *object.SystemConfiguration:
		doc = newSystemConfigurationDoc(v)
	case *object.Case:
		doc = newCaseDoc(v)
	default:
		return nil, fmt.Errorf("no stored document for object type %s (%T)", o.Type(), o)
	}
	return json.Marshal(doc)
}

// decodeObject reads a stored document of type t into a domain object
// without its Meta, which the row's columns supply.
func decodeObject(t object.Type, data []byte) (object.Object, error) {
	switch t {
	case object.TypeUser:
		// A document without "enabled" is an enabled user, as a new one is.
		return decodeDoc(data, userDoc{Enabled: true})
	case object.TypeRole:
		return decodeDoc(data, roleDoc{})
	case object.TypeArchetype:
		return decodeDoc(data, archetypeDoc{})
	case object.TypeObjectTemplate:
		return decodeDoc(data, objectTemplateDoc{})
	case object.TypeReport:
		return decodeDoc(data, reportDoc{})
	case object.TypeSystemConfiguration:
		return decodeDoc(data, systemConfigurationDoc{})
	case object.TypeCase:
		return decodeDoc(data, caseDoc{})
	}
	return nil, fmt.Errorf("unknown object type %q", t)
}

// decodeDoc unmarshals data over the document d (its defaults) and maps it.
func decodeDoc[D interface{ toDomain() object.Object }](data []byte, d D) (object.Object, error) {
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	return d.toDomain(), nil
}
