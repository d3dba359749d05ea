package handlers_test

import (
	"slices"
	"strings"
	"testing"

	"cadre/domain/object"
	"cadre/domain/task"
)

// TestRecompute derives names and authorizations, unbucketed and by OID prefix.
func TestRecompute(t *testing.T) {
	type want struct {
		given, family string
		auths         []string
	}
	tests := []struct {
		name        string
		bucket      *task.Content
		items, errs int64
		want        map[string]want // by user name; users not listed must stay underived
		unchangedV1 []string        // users whose version must stay 1
	}{
		{
			name:  "all users",
			items: 6, errs: 0, // 5 users + administrator
			want: map[string]want{
				// A role deleted after it was assigned does not block the user.
				"orphan":        {"Orphan", "User", []string{"reader"}},
				"ada":           {"Ada", "Lovelace King", []string{"reader", "superuser"}},
				"mono":          {"Cher", "", []string{"reader"}},
				"blank":         {"", "", nil},
				"fresh":         {"Already", "Done", []string{"reader"}},
				"administrator": {"Administrator", "", []string{"superuser"}},
			},
			unchangedV1: []string{"blank", "fresh"},
		},
		{
			name:   "one OID-prefix bucket",
			bucket: &task.Content{OIDFrom: "0", OIDTo: "1"},
			items:  1,
			want:   map[string]want{"ada": {"Ada", "Lovelace King", []string{"reader", "superuser"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.add(t, &object.User{Meta: object.Meta{OID: "0aaaaaaa-0000-4000-8000-000000000001", Name: "ada"},
				FullName: "  Ada   Lovelace King ", Enabled: true, Roles: []string{e.superOID, e.readerOID, e.superOID}})
			gone := e.add(t, &object.Role{Meta: object.Meta{Name: "Gone"}, Authorizations: []string{object.AuthSuperuser}}).OID
			e.add(t, &object.User{Meta: object.Meta{OID: "f0000000-0000-4000-8000-000000000002", Name: "mono"},
				FullName: "Cher", Enabled: true, Roles: []string{e.readerOID}})
			e.add(t, &object.User{Meta: object.Meta{OID: "f0000000-0000-4000-8000-000000000005", Name: "orphan"},
				FullName: "Orphan User", Enabled: true, Roles: []string{e.readerOID, gone}})
			e.add(t, &object.User{Meta: object.Meta{OID: "f0000000-0000-4000-8000-000000000003", Name: "blank"}, Enabled: true})
			e.add(t, &object.User{Meta: object.Meta{OID: "f0000000-0000-4000-8000-000000000004", Name: "fresh"}, FullName: "Already Done",
				GivenName: "Already", FamilyName: "Done", EffectiveAuthorizations: []string{"reader"}, Roles: []string{e.readerOID}})
			// orphan refers to a role deleted after it was assigned.
			if err := e.store.Delete(t.Context(), object.TypeRole, gone); err != nil {
				t.Fatal(err)
			}

			res := e.run(t, "recompute", nil, runOpts{bucket: tt.bucket})
			if res.err != nil || res.items != tt.items || res.errs != tt.errs {
				t.Fatalf("run: err %v, %d items, %d errors; want %d, %d\n%s", res.err, res.items, res.errs, tt.items, tt.errs, res.logs)
			}
			if tt.errs > 0 && !strings.Contains(res.logs, "user=orphan") {
				t.Errorf("no log line names the failing user:\n%s", res.logs)
			}
			for name, u := range e.users(t) {
				w, ok := tt.want[name]
				if !ok {
					if u.Version != 1 {
						t.Errorf("%s was written outside its bucket: %+v", name, u)
					}
					continue
				}
				if u.GivenName != w.given || u.FamilyName != w.family || !slices.Equal(u.EffectiveAuthorizations, w.auths) {
					t.Errorf("%s = given %q, family %q, auths %v; want %+v", name, u.GivenName, u.FamilyName, u.EffectiveAuthorizations, w)
				}
			}
			for _, name := range tt.unchangedV1 {
				if v := e.user(t, name).Version; v != 1 {
					t.Errorf("%s rewritten though nothing changed (version %d)", name, v)
				}
			}
			again := e.run(t, "recompute", nil, runOpts{bucket: tt.bucket})
			if again.err != nil || again.items != tt.items {
				t.Fatalf("second run: err %v, %d items", again.err, again.items)
			}
		})
	}
}
