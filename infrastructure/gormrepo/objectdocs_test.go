package gormrepo_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"cadre/db/dbtest"
	"cadre/domain/object"
	"cadre/infrastructure/gormrepo"
)

// storedFormat pairs a domain object with the document the code before the
// storage document types wrote for it: databases written then must read back
// unchanged, and new writes must keep the format.
type storedFormat struct {
	obj  object.Object
	data string
}

func storedFormats() map[string]storedFormat {
	created := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	modified := time.Date(2026, 2, 3, 4, 5, 6, 7000, time.UTC)
	decided := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	applied := time.Date(2026, 4, 5, 6, 7, 8, 9000, time.UTC)
	meta := func(oid, name string) object.Meta {
		return object.Meta{OID: oid, Name: name, Version: 3, CreatedAt: created, ModifiedAt: modified}
	}
	return map[string]storedFormat{
		"user": {&object.User{
			Meta: meta("00000000-0000-0000-0000-0000000000a1", "jack"), FullName: "Jack Sparrow", EmailAddress: "jack@example.com",
			Enabled: true, Roles: []string{"r1", "r2"}, PasswordHash: "$2a$10$hash", GivenName: "Jack", FamilyName: "Sparrow",
			EffectiveAuthorizations: []string{"reader"},
		}, `{"oid":"00000000-0000-0000-0000-0000000000a1","name":"jack","version":3,"createdAt":"2026-01-02T03:04:05.000006Z","modifiedAt":"2026-02-03T04:05:06.000007Z","fullName":"Jack Sparrow","emailAddress":"jack@example.com","enabled":true,"roles":["r1","r2"],"passwordHash":"$2a$10$hash","givenName":"Jack","familyName":"Sparrow","effectiveAuthorizations":["reader"]}`},
		"user without roles": {&object.User{
			Meta: meta("00000000-0000-0000-0000-0000000000a2", "nobody"), Roles: []string{},
		}, `{"oid":"00000000-0000-0000-0000-0000000000a2","name":"nobody","version":3,"createdAt":"2026-01-02T03:04:05.000006Z","modifiedAt":"2026-02-03T04:05:06.000007Z","fullName":"","emailAddress":"","enabled":false,"roles":[]}`},
		"role": {&object.Role{
			Meta: meta("00000000-0000-0000-0000-0000000000b1", "auditor"), Description: "reads everything",
			Authorizations: []string{"reader"}, Approvers: []string{"u1", "u2"},
		}, `{"oid":"00000000-0000-0000-0000-0000000000b1","name":"auditor","version":3,"createdAt":"2026-01-02T03:04:05.000006Z","modifiedAt":"2026-02-03T04:05:06.000007Z","description":"reads everything","authorizations":["reader"],"approvers":["u1","u2"]}`},
		"role without authorizations": {&object.Role{
			Meta: meta("00000000-0000-0000-0000-0000000000b2", "empty"), Authorizations: []string{}, Approvers: []string{},
		}, `{"oid":"00000000-0000-0000-0000-0000000000b2","name":"empty","version":3,"createdAt":"2026-01-02T03:04:05.000006Z","modifiedAt":"2026-02-03T04:05:06.000007Z","description":"","authorizations":[],"approvers":[]}`},
		"archetype": {&object.Archetype{
			Meta: meta("00000000-0000-0000-0000-0000000000c1", "employee"), Description: "a person on the payroll",
		}, `{"oid":"00000000-0000-0000-0000-0000000000c1","name":"employee","version":3,"createdAt":"2026-01-02T03:04:05.000006Z","modifiedAt":"2026-02-03T04:05:06.000007Z","description":"a person on the payroll"}`},
		"object template": {&object.ObjectTemplate{
			Meta: meta("00000000-0000-0000-0000-0000000000d1", "default user"), Description: "names users",
		}, `{"oid":"00000000-0000-0000-0000-0000000000d1","name":"default user","version":3,"createdAt":"2026-01-02T03:04:05.000006Z","modifiedAt":"2026-02-03T04:05:06.000007Z","description":"names users"}`},
		"report": {&object.Report{
			Meta: meta("00000000-0000-0000-0000-0000000000e1", "users.csv"), Node: "node-1", FileName: "users-1.csv",
			Task: "00000000-0000-0000-0000-0000000000f1", CreatedAt: decided,
		}, `{"oid":"00000000-0000-0000-0000-0000000000e1","name":"users.csv","version":3,"modifiedAt":"2026-02-03T04:05:06.000007Z","node":"node-1","fileName":"users-1.csv","task":"00000000-0000-0000-0000-0000000000f1","createdAt":"2026-03-04T05:06:07.000008Z"}`},
		"system configuration": {&object.SystemConfiguration{
			Meta:                  meta(object.SystemConfigurationOID, "SystemConfiguration"),
			Infrastructure:        object.Infrastructure{IntraClusterHTTPURLPattern: "https://$host:$port$path"},
			DeploymentInformation: object.DeploymentInformation{SubscriptionIdentifier: "sub-1"},
		}, `{"oid":"00000000-0000-0000-0000-000000000001","name":"SystemConfiguration","version":3,"createdAt":"2026-01-02T03:04:05.000006Z","modifiedAt":"2026-02-03T04:05:06.000007Z","infrastructure":{"intraClusterHttpUrlPattern":"https://$host:$port$path"},"deploymentInformation":{"subscriptionIdentifier":"sub-1"}}`},
		"open case": {&object.Case{
			Meta: meta("00000000-0000-0000-0000-000000000101", "jack: auditor"), State: object.CaseOpen,
			Requester: "u0", User: "u1", Role: "r1",
		}, `{"oid":"00000000-0000-0000-0000-000000000101","name":"jack: auditor","version":3,"createdAt":"2026-01-02T03:04:05.000006Z","modifiedAt":"2026-02-03T04:05:06.000007Z","state":"open","requester":"u0","user":"u1","role":"r1","decidedBy":"","comment":"","decidedAt":null,"task":"","appliedAt":null}`},
		"applied case": {&object.Case{
			Meta: meta("00000000-0000-0000-0000-000000000102", "anne: auditor"), State: object.CaseApproved,
			Requester: "u0", User: "u3", Role: "r1", DecidedBy: "u2", Comment: "fine", DecidedAt: &decided,
			Task: "00000000-0000-0000-0000-0000000000f2", AppliedAt: &applied,
		}, `{"oid":"00000000-0000-0000-0000-000000000102","name":"anne: auditor","version":3,"createdAt":"2026-01-02T03:04:05.000006Z","modifiedAt":"2026-02-03T04:05:06.000007Z","state":"approved","requester":"u0","user":"u3","role":"r1","decidedBy":"u2","comment":"fine","decidedAt":"2026-03-04T05:06:07.000008Z","task":"00000000-0000-0000-0000-0000000000f2","appliedAt":"2026-04-05T06:07:08.000009Z"}`},
	}
}

// TestStoredObjectFormat holds the stored documents to the format the
// previous code wrote: each golden document, inserted as an old node would
// have, reads back as the same domain object, and writing the object stores
// the golden document byte for byte.
func TestStoredObjectFormat(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			d := openMigrated(t, dialect)
			repo := gormrepo.New(d)
			for name, f := range storedFormats() {
				t.Run(name, func(t *testing.T) {
					m := f.obj.ObjectMeta()
					err := d.WithContext(ctx).Exec(`INSERT INTO objects (oid, type, name, name_norm, version, data, created_at, modified_at)
						VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.OID, string(f.obj.Type()), m.Name, object.NormalizeName(m.Name),
						m.Version, f.data, m.CreatedAt, m.ModifiedAt).Error
					if err != nil {
						t.Fatal(err)
					}
					got, err := repo.Get(ctx, f.obj.Type(), m.OID)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, f.obj) {
						t.Errorf("stored document read back as\n%#v\nwant\n%#v", got, f.obj)
					}

					if err := repo.Delete(ctx, f.obj.Type(), m.OID); err != nil {
						t.Fatal(err)
					}
					if err := repo.Add(ctx, f.obj); err != nil {
						t.Fatal(err)
					}
					var data string
					if err := d.WithContext(ctx).Raw(`SELECT data FROM objects WHERE oid = ?`, m.OID).Scan(&data).Error; err != nil {
						t.Fatal(err)
					}
					if data != f.data {
						t.Errorf("stored document\n%s\nwant\n%s", data, f.data)
					}
				})
			}
		})
	}
}
