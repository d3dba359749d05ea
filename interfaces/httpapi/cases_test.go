package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"cadre/db/dbtest"
)

// TestApprovalCases: a role with approvers, given by someone who is not one
// of them, is held in a case (202); an approver or a superuser decides it
// once; an approved role is given by an approval task, a rejected one never.
func TestApprovalCases(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			admin, base := setup(t, dialect)
			as := func(name string) *client {
				return &client{t: t, base: base, user: name, pass: "Approve123!", http: checkedClient(t, nil)}
			}
			newUser := func(name string, roles ...string) string {
				body := map[string]any{"name": name, "password": "Approve123!"}
				if roles != nil {
					body["roles"] = roles
				}
				return admin.do("POST", "/api/v1/objects/users", body).expect(t, http.StatusCreated).str("oid")
			}
			alice, bob := newUser("alice"), newUser("bob")
			newUser("eve", "Reader")
			adminOID := admin.do("GET", "/api/v1/objects/users?name=administrator", nil).expect(t, http.StatusOK).body["items"].([]any)[0].(map[string]any)["oid"].(string)
			readerRole := admin.do("GET", "/api/v1/objects/roles?name=Reader", nil).expect(t, http.StatusOK).body["items"].([]any)[0].(map[string]any)["oid"].(string)

			auditor := admin.do("POST", "/api/v1/objects/roles", map[string]any{"name": "Auditor", "approvers": []string{"alice", bob}}).expect(t, http.StatusCreated)
			if got := stringList(auditor.body["approvers"]); !slices.Equal(got, []string{alice, bob}) {
				t.Fatalf("approvers given by name and OID read back as OIDs: got %v, want [%s %s]", got, alice, bob)
			}
			role := auditor.str("oid")

			var caseOID string
			t.Run("giving the role holds it in a case and applies the other roles", func(t *testing.T) {
				carol := newUser("carol")
				held := admin.do("PATCH", "/api/v1/objects/users/"+carol, map[string]any{"roles": []string{"Auditor", readerRole}}).expect(t, http.StatusAccepted)
				caseOID = held.str("case")
				if caseOID == "" || !slices.Equal(stringList(held.body["cases"]), []string{caseOID}) || held.header.Get("ETag") != `"2"` {
					t.Fatalf("202 body %s, ETag %q", held.raw, held.header.Get("ETag"))
				}
				if roles := stringList(held.body["object"].(map[string]any)["roles"]); !slices.Equal(roles, []string{readerRole}) {
					t.Fatalf("stored roles %v: want only Reader", roles)
				}
				again := admin.do("PATCH", "/api/v1/objects/users/"+carol, map[string]any{"roles": []string{readerRole, role}}).expect(t, http.StatusAccepted)
				if again.str("case") != caseOID {
					t.Fatalf("asking again opened case %s besides the open %s", again.str("case"), caseOID)
				}
				c := admin.do("GET", "/api/v1/objects/cases/"+caseOID, nil).expect(t, http.StatusOK)
				if c.str("state") != "open" || c.str("requester") != adminOID || c.str("user") != carol || c.str("role") != role || c.body["decidedAt"] != nil {
					t.Fatalf("open case: %s", c.raw)
				}
				if list := admin.do("GET", "/api/v1/objects/cases", nil).expect(t, http.StatusOK); list.body["total"] != float64(1) {
					t.Fatalf("cases: %s", list.raw)
				}
			})

			t.Run("cases are not written through the objects API", func(t *testing.T) {
				admin.do("POST", "/api/v1/objects/cases", map[string]any{"name": "forged", "state": "approved"}).expect(t, http.StatusUnprocessableEntity)
				admin.do("PATCH", "/api/v1/objects/cases/"+caseOID, map[string]any{"state": "approved"}).expect(t, http.StatusUnprocessableEntity)
			})

			t.Run("only approvers and superusers decide", func(t *testing.T) {
				r := as("eve").do("POST", "/api/v1/cases/"+caseOID+"/approve", map[string]any{"comment": "me"}).expect(t, http.StatusForbidden)
				if r.str("error") != "forbidden" {
					t.Fatalf("eve: %s", r.raw)
				}
				admin.do("POST", "/api/v1/cases/00000000-0000-4000-8000-000000000000/approve", nil).expect(t, http.StatusNotFound)
			})

			t.Run("an approver approves once; the approval task gives the role", func(t *testing.T) {
				ok := as("alice").do("POST", "/api/v1/cases/"+caseOID+"/approve", map[string]any{"comment": "needed for the audit"}).expect(t, http.StatusOK)
				if ok.str("state") != "approved" || ok.str("decidedBy") != alice || ok.str("comment") != "needed for the audit" || ok.str("task") == "" || ok.body["decidedAt"] == nil {
					t.Fatalf("approved: %s", ok.raw)
				}
				late := as("bob").do("POST", "/api/v1/cases/"+caseOID+"/reject", map[string]any{"comment": "no"}).expect(t, http.StatusConflict)
				if late.str("error") != "case-decided" {
					t.Fatalf("second decision: %s", late.raw)
				}
				waitFor(t, "the case to be applied", func() bool {
					return admin.do("GET", "/api/v1/objects/cases/"+caseOID, nil).body["appliedAt"] != nil
				})
				c := admin.do("GET", "/api/v1/objects/cases/"+caseOID, nil).expect(t, http.StatusOK)
				if c.str("state") != "approved" || c.str("decidedBy") != alice {
					t.Fatalf("the late rejection changed the case: %s", c.raw)
				}
				u := admin.do("GET", "/api/v1/objects/users/"+c.str("user"), nil).expect(t, http.StatusOK)
				if roles := stringList(u.body["roles"]); !slices.Equal(roles, []string{readerRole, role}) {
					t.Fatalf("carol's roles %v: want Reader and Auditor once", roles)
				}
				if task := admin.do("GET", "/api/v1/tasks/"+c.str("task"), nil).expect(t, http.StatusOK); task.str("handler") != "approval" || task.str("resultStatus") != "SUCCESS" {
					t.Fatalf("approval task: %s", task.raw)
				}
			})

			t.Run("a new user is stored without the held role; a rejection changes nothing", func(t *testing.T) {
				created := admin.do("POST", "/api/v1/objects/users", map[string]any{"name": "dave", "roles": []string{role}}).expect(t, http.StatusAccepted)
				dave := created.body["object"].(map[string]any)["oid"].(string)
				if created.header.Get("Location") != "/api/v1/objects/users/"+dave || len(stringList(created.body["object"].(map[string]any)["roles"])) != 0 {
					t.Fatalf("created: Location %q, %s", created.header.Get("Location"), created.raw)
				}
				no := as("bob").do("POST", "/api/v1/cases/"+created.str("case")+"/reject", map[string]any{"comment": "not for dave"}).expect(t, http.StatusOK)
				if no.str("state") != "rejected" || no.str("decidedBy") != bob || no.str("task") != "" {
					t.Fatalf("rejected: %s", no.raw)
				}
				u := admin.do("GET", "/api/v1/objects/users/"+dave, nil).expect(t, http.StatusOK)
				if len(stringList(u.body["roles"])) != 0 || u.body["version"] != float64(1) {
					t.Fatalf("dave after the rejection: %s", u.raw)
				}
			})

			t.Run("a superuser who approves nothing decides too; an approver gives the role at once", func(t *testing.T) {
				frank := admin.do("POST", "/api/v1/objects/users", map[string]any{"name": "frank", "roles": []string{role}}).expect(t, http.StatusAccepted)
				admin.do("POST", "/api/v1/cases/"+frank.str("case")+"/approve", "").expect(t, http.StatusOK)

				ops := admin.do("POST", "/api/v1/objects/roles", map[string]any{"name": "Ops", "approvers": []string{adminOID}}).expect(t, http.StatusCreated).str("oid")
				direct := admin.do("POST", "/api/v1/objects/users", map[string]any{"name": "gina", "roles": []string{ops}}).expect(t, http.StatusCreated)
				if !slices.Equal(stringList(direct.body["roles"]), []string{ops}) {
					t.Fatalf("an approver's own grant: %s", direct.raw)
				}
			})

			t.Run("several held roles open a case each, in the order given", func(t *testing.T) {
				vault := admin.do("POST", "/api/v1/objects/roles", map[string]any{"name": "Vault", "approvers": []string{bob}}).expect(t, http.StatusCreated).str("oid")
				ivy := admin.do("POST", "/api/v1/objects/users", map[string]any{"name": "ivy", "roles": []string{"Vault", readerRole, role}}).expect(t, http.StatusAccepted)
				cases := stringList(ivy.body["cases"])
				if len(cases) != 2 || ivy.str("case") != cases[0] || !slices.Equal(stringList(ivy.body["object"].(map[string]any)["roles"]), []string{readerRole}) {
					t.Fatalf("two held roles: %s", ivy.raw)
				}
				for i, want := range []string{vault, role} {
					if got := admin.do("GET", "/api/v1/objects/cases/"+cases[i], nil).expect(t, http.StatusOK).str("role"); got != want {
						t.Errorf("case %d is for role %s, want %s", i, got, want)
					}
				}
			})

			t.Run("a superuser withdraws a case by deleting it", func(t *testing.T) {
				hal := admin.do("POST", "/api/v1/objects/users", map[string]any{"name": "hal", "roles": []string{role}}).expect(t, http.StatusAccepted)
				admin.do("DELETE", "/api/v1/objects/cases/"+hal.str("case"), nil).expect(t, http.StatusNoContent)
				// alice may not read cases: a withdrawn case is refused like any
				// case she may not decide, so answers do not tell which exist.
				as("alice").do("POST", "/api/v1/cases/"+hal.str("case")+"/approve", nil).expect(t, http.StatusForbidden)
				admin.do("POST", "/api/v1/cases/"+hal.str("case")+"/approve", nil).expect(t, http.StatusNotFound)
			})
		})
	}
}

// stringList reads a JSON array of strings.
func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
