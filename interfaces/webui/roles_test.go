package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"cadre/app/repository"
	"cadre/domain/object"
)

var roleLocationRe = regexp.MustCompile(`^/ui/roles/([0-9a-f-]{36})\?ok=role-created$`)

func (e *env) role(t *testing.T, oid string) *object.Role {
	t.Helper()
	o, err := e.repo.Get(context.Background(), e.system, object.TypeRole, oid)
	if err != nil {
		t.Fatalf("get role %s: %v", oid, err)
	}
	return o.(*object.Role)
}

func TestRolesList(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.login("administrator", adminPassword)

	p := b.get("/ui/roles")
	p.expect(t, http.StatusOK, `href="/ui/roles" aria-current="page"`, `href="/ui/roles/new"`, `<label for="q">Search by name</label>`,
		`<a href="/ui/roles/`+e.readerOID+`">Reader</a>`, "Read-only access", `<span class="tag">reader</span>`, `<span class="tag">superuser</span>`,
		`<th scope="col">Authorizations</th>`)
	if got := strings.Count(p.body, `<tr class="role-row">`); got != 2 {
		t.Errorf("%d rows, want 2", got)
	}
	q := b.get("/ui/roles?q=READ")
	if got := strings.Count(q.body, `<tr class="role-row">`); got != 1 || !strings.Contains(q.body, ">Reader</a>") {
		t.Errorf("search READ: %d rows\n%s", got, q.body)
	}
	b.get("/ui/roles?q=zzz").expect(t, http.StatusOK, "No role’s name contains “zzz”")
}

func TestCreateAndEditRole(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.login("administrator", adminPassword)

	form := b.get("/ui/roles/new")
	form.expect(t, http.StatusOK, "<h1>New role</h1>", `<label for="name">Name`, `<label for="description">Description</label>`,
		`<legend>Authorizations</legend>`, `<label for="auth-superuser">`, `<label for="auth-reader">`, `action="/ui/roles/new"`, "Create role")
	if strings.Contains(form.body, `name="version"`) {
		t.Error("the new-role form has a version field")
	}
	csrf := form.field(t, csrfRe)

	created := b.post("/ui/roles/new", url.Values{"csrf": {csrf}, "name": {"Auditor"}, "description": {"Reads everything"}, "authorizations": {"reader"}})
	m := roleLocationRe.FindStringSubmatch(created.header.Get("Location"))
	if created.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d to %q\n%s", created.status, created.header.Get("Location"), created.body)
	}
	oid := m[1]
	path := "/ui/roles/" + oid
	if r := e.role(t, oid); r.Name != "Auditor" || r.Description != "Reads everything" || !slices.Equal(r.Authorizations, []string{"reader"}) {
		t.Errorf("stored %+v", r)
	}
	page := b.get(path + "?ok=role-created")
	page.expect(t, http.StatusOK, "Role created.", "<h1>Auditor</h1>", `value="Auditor"`, ">Reads everything</textarea>",
		`value="reader" checked`, `href="/ui/roles" aria-current="page"`)
	if strings.Contains(page.body, `value="superuser" checked`) {
		t.Error("superuser is checked")
	}

	v := url.Values{"csrf": {csrf}, "version": {page.field(t, versionRe)}, "name": {"Auditors"}, "description": {""}, "authorizations": {"superuser"}}
	b.post(path, v).redirectsTo(t, path+"?ok=saved")
	b.get(path+"?ok=saved").expect(t, http.StatusOK, "Saved.", "<h1>Auditors</h1>", `value="superuser" checked`)
	if r := e.role(t, oid); r.Name != "Auditors" || r.Description != "" || !slices.Equal(r.Authorizations, []string{"superuser"}) || r.Version != 2 {
		t.Errorf("stored %+v", r)
	}

	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
		texts  []string
	}{
		{"create with a taken name", "/ui/roles/new", url.Values{"name": {"reader"}, "description": {"Kept text"}},
			http.StatusConflict, []string{`A role named &#34;reader&#34; already exists.`, ">Kept text</textarea>", "<h1>New role</h1>"}},
		{"create without a name", "/ui/roles/new", url.Values{"name": {" "}, "authorizations": {"reader"}},
			http.StatusUnprocessableEntity, []string{"Name is required.", `value="reader" checked`}},
		{"create with a forged authorization", "/ui/roles/new", url.Values{"name": {"Gods"}, "authorizations": {"god"}},
			http.StatusUnprocessableEntity, []string{"Unknown authorization &#34;god&#34;", `value="Gods"`}},
		{"rename to a taken name", path, url.Values{"version": {"2"}, "name": {"Superuser"}, "description": {"Mine"}},
			http.StatusConflict, []string{`A role named &#34;Superuser&#34; already exists.`, `value="Superuser"`, "<h1>Auditors</h1>"}},
		{"save without a name", path, url.Values{"version": {"2"}, "name": {""}},
			http.StatusUnprocessableEntity, []string{"Name is required."}},
		{"save a stale version", path, url.Values{"version": {"1"}, "name": {"Old view"}},
			http.StatusConflict, []string{"Someone else changed this role; reload.", "Reload the current version", `value="Old view"`}},
		{"save without a version", path, url.Values{"name": {"No version"}},
			http.StatusBadRequest, []string{"The form has no valid version field."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("csrf", csrf)
			b.post(tt.path, tt.form).expect(t, tt.status, append(tt.texts, `role="alert"`)...)
		})
	}
	if r := e.role(t, oid); r.Name != "Auditors" || r.Version != 2 {
		t.Errorf("a refused form changed the role: %+v", r)
	}
	if page, _ := e.repo.Search(context.Background(), e.system, object.Query{Type: object.TypeRole}); page.Total != 3 {
		t.Errorf("%d roles after refused forms, want 3", page.Total)
	}
	b.get("/ui/roles/00000000-0000-0000-0000-00000000abcd").expect(t, http.StatusNotFound, "This object does not exist")
}

func TestRoleChangeReachesItsUsers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	helpers, err := e.repo.Add(ctx, e.system, repository.AddInput{Object: &object.Role{Meta: object.Meta{Name: "Helpers"}, Authorizations: []string{"reader"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.addUser(t, "ann", "Password1", helpers.ObjectMeta().OID)
	ann := e.browser(t)
	ann.login("ann", "Password1")
	if p := ann.get("/ui/users"); strings.Contains(p.body, "New user") {
		t.Fatal("a reader is offered New user")
	}

	admin := e.browser(t)
	admin.login("administrator", adminPassword)
	path := "/ui/roles/" + helpers.ObjectMeta().OID
	form := admin.get(path)
	admin.post(path, url.Values{"csrf": {form.field(t, csrfRe)}, "version": {form.field(t, versionRe)}, "name": {"Helpers"},
		"authorizations": {"reader", "superuser"}}).redirectsTo(t, path+"?ok=saved")

	ann.get("/ui/users").expect(t, http.StatusOK, "New user")
}

func TestRolePagesForReaders(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.addUser(t, "rita", "Password1", e.readerOID)
	b := e.browser(t)
	b.login("rita", "Password1")
	path := "/ui/roles/" + e.readerOID

	list := b.get("/ui/roles")
	list.expect(t, http.StatusOK, ">Reader</a>")
	if strings.Contains(list.body, "/ui/roles/new") {
		t.Error("a reader is offered New role")
	}
	view := b.get(path)
	view.expect(t, http.StatusOK, "<h1>Reader</h1>", "<dt>Authorizations</dt><dd><span class=\"tag\">reader</span>")
	if strings.Contains(view.body, `action="`+path+`"`) || strings.Contains(view.body, `name="version"`) {
		t.Error("a reader sees the role form")
	}
	csrf := view.field(t, csrfRe) // of the logout form
	b.get("/ui/roles/new").expect(t, http.StatusForbidden, "You are not allowed to do this.")
	b.post("/ui/roles/new", url.Values{"csrf": {csrf}, "name": {"Mine"}, "authorizations": {"superuser"}}).expect(t, http.StatusForbidden, "You are not allowed to do this.")
	b.post(path, url.Values{"csrf": {csrf}, "version": {"1"}, "name": {"Reader"}, "authorizations": {"superuser"}}).expect(t, http.StatusForbidden, "You are not allowed to do this.")
	if r := e.role(t, e.readerOID); !slices.Equal(r.Authorizations, []string{"reader"}) {
		t.Errorf("a reader changed a role: %+v", r)
	}

	admin := e.browser(t)
	admin.login("administrator", adminPassword)
	admin.post(path, url.Values{"version": {"1"}, "name": {"Reader"}}).expect(t, http.StatusForbidden, "no valid security token")
}
