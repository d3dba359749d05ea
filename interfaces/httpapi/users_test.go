package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"cadre/db/dbtest"
)

// TestUserRoles: roles are given by OID or by name and always read back as
// OIDs; a user with no roles reads "roles": [], never null.
func TestUserRoles(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			admin, base := setup(t, dialect)
			roles := admin.do("GET", "/api/v1/objects/roles?name=Reader", nil).expect(t, http.StatusOK)
			items, _ := roles.body["items"].([]any)
			if len(items) != 1 {
				t.Fatalf("role Reader: %s", roles.raw)
			}
			readerOID, _ := items[0].(map[string]any)["oid"].(string)

			t.Run("no roles reads as an empty list", func(t *testing.T) {
				created := admin.do("POST", "/api/v1/objects/users", map[string]any{"name": "nobody", "password": "Nobody123!"}).expect(t, http.StatusCreated)
				for _, r := range []response{created, admin.do("GET", "/api/v1/objects/users/"+created.str("oid"), nil).expect(t, http.StatusOK)} {
					if !strings.Contains(r.raw, `"roles":[]`) {
						t.Errorf("want \"roles\":[] in %s", r.raw)
					}
				}
				list := admin.do("GET", "/api/v1/objects/users?name=nobody", nil).expect(t, http.StatusOK)
				if !strings.Contains(list.raw, `"roles":[]`) || strings.Contains(list.raw, "null") {
					t.Errorf("search: want \"roles\":[] and no null in %s", list.raw)
				}
			})

			t.Run("a role given by name is stored as its OID and takes effect", func(t *testing.T) {
				created := admin.do("POST", "/api/v1/objects/users", map[string]any{
					"name": "reed", "password": "Reader123!", "roles": []string{"Reader"},
				}).expect(t, http.StatusCreated)
				got, _ := created.body["roles"].([]any)
				if len(got) != 1 || got[0] != readerOID {
					t.Fatalf("roles: %v, want [%s]", created.body["roles"], readerOID)
				}
				reed := &client{t: t, base: base, user: "reed", pass: "Reader123!", http: checkedClient(t, nil)}
				reed.do("GET", "/api/v1/objects/users", nil).expect(t, http.StatusOK)
				reed.do("POST", "/api/v1/objects/roles", map[string]any{"name": "x"}).expect(t, http.StatusForbidden)

				patched := admin.do("PATCH", "/api/v1/objects/users/"+created.str("oid"), map[string]any{"roles": []string{"Reader", "Superuser"}}).expect(t, http.StatusOK)
				got, _ = patched.body["roles"].([]any)
				if len(got) != 2 || got[0] != readerOID || strings.Contains(patched.raw, `"Superuser"`) {
					t.Fatalf("patched roles: %v", patched.body["roles"])
				}
			})

			t.Run("an unknown role says OIDs and names are accepted", func(t *testing.T) {
				bad := admin.do("POST", "/api/v1/objects/users", map[string]any{"name": "ghost", "roles": []string{"Nope"}})
				if bad.status < 400 || bad.status >= 500 || !strings.Contains(bad.str("message"), `role "Nope" does not exist (give a role's OID or its name)`) {
					t.Fatalf("unknown role: %d %s", bad.status, bad.raw)
				}
			})
		})
	}
}
