package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cadre/app/repository"
	"cadre/domain/object"
)

func TestUsersSearchAndPaging(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := 1; i <= 45; i++ {
		e.addUser(t, fmt.Sprintf("person%02d", i), "")
	}
	b := e.browser(t)
	b.login("administrator", adminPassword)

	pageOf := func(t *testing.T, path string) page {
		t.Helper()
		p := b.get(path)
		p.expect(t, http.StatusOK)
		return p
	}
	rows := func(p page) int { return strings.Count(p.body, `<tr class="user-row">`) }
	firstRow := func(t *testing.T, p page, want string) {
		t.Helper()
		i := strings.Index(p.body, `<tr class="user-row">`)
		if i < 0 || !strings.Contains(p.body[i:min(i+300, len(p.body))], ">"+want+"</a>") {
			t.Errorf("first row is not %s", want)
		}
	}
	// link returns the target of the pager's link named text ("" for none).
	link := func(p page, text string) string {
		i := strings.Index(p.body, `">`+text+`</a>`)
		if i < 0 {
			return ""
		}
		j := strings.LastIndex(p.body[:i], `href="`)
		return strings.ReplaceAll(p.body[j+len(`href="`):i], "&amp;", "&")
	}

	t.Run("walk by cursor", func(t *testing.T) {
		p := pageOf(t, "/ui/users?q=person")
		if rows(p) != 20 || link(p, "« First page") != "" {
			t.Fatalf("first page: %d rows, first-page link %q", rows(p), link(p, "« First page"))
		}
		firstRow(t, p, "person01")
		p.expect(t, http.StatusOK, `20 shown · <span class="total">45</span> in all`)
		next := link(p, "Next page →")
		if !strings.HasPrefix(next, "/ui/users?after=") || !strings.Contains(next, "q=person") {
			t.Fatalf("next link %q", next)
		}
		p = pageOf(t, next)
		firstRow(t, p, "person21")
		if rows(p) != 20 || link(p, "« First page") != "/ui/users?q=person" {
			t.Fatalf("second page: %d rows, first-page link %q", rows(p), link(p, "« First page"))
		}
		p = pageOf(t, link(p, "Next page →"))
		firstRow(t, p, "person41")
		if rows(p) != 5 || link(p, "Next page →") != "" || strings.Contains(p.body, `rel="next"`) {
			t.Fatalf("last page: %d rows, next link %q", rows(p), link(p, "Next page →"))
		}
	})
	t.Run("other lists", func(t *testing.T) {
		p := pageOf(t, "/ui/users?q=PERSON4")
		if rows(p) != 6 || strings.Contains(p.body, `rel="next"`) {
			t.Errorf("q=PERSON4: %d rows, want 6 and no next page", rows(p))
		}
		firstRow(t, p, "person40")
		p = pageOf(t, "/ui/users")
		p.expect(t, http.StatusOK, `<span class="total">46</span>`)
		firstRow(t, p, "administrator")
		pageOf(t, "/ui/users?q=zzz").expect(t, http.StatusOK, "No user’s name contains “zzz”")
		// An old page-number link or a cursor that is none shows the first page.
		for _, path := range []string{"/ui/users?page=3", "/ui/users?after=%%%"} {
			p = pageOf(t, path)
			firstRow(t, p, "administrator")
		}
		// Past the last user, the page says so and links back to the start.
		p = pageOf(t, "/ui/users?q=person&after="+url.QueryEscape("cGVyc29uOTk")) // "person99"
		p.expect(t, http.StatusOK, "There are no more users.", `href="/ui/users?q=person">Go to the first page`)
	})
	t.Run("columns", func(t *testing.T) {
		b.get("/ui/users?q=person45").expect(t, http.StatusOK, "<th scope=\"col\">Name</th>", "<th scope=\"col\">Full name</th>",
			"<th scope=\"col\">E-mail</th>", "<th scope=\"col\">Enabled</th>", "Full person45", `id="q"`, `<label for="q">Search by name</label>`)
	})
}

func TestEditUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	bob := e.addUser(t, "bob", "Password1")
	b := e.browser(t)
	b.login("administrator", adminPassword)
	path := "/ui/users/" + bob.OID

	form := b.get(path)
	form.expect(t, http.StatusOK, `<label for="fullName">Full name</label>`, "Disable user", "Save")
	values := url.Values{
		"csrf":         {form.field(t, csrfRe)},
		"version":      {form.field(t, versionRe)},
		"fullName":     {"Robert Builder"},
		"emailAddress": {"bob@example.com"},
		"enabled":      {"true"},
		"roles":        {e.readerOID},
	}
	b.post(path, values).redirectsTo(t, path+"?ok=saved")
	b.get(path+"?ok=saved").expect(t, http.StatusOK, "Saved.", `value="Robert Builder"`, `value="bob@example.com"`)

	got := e.user(t, bob.OID)
	if got.FullName != "Robert Builder" || got.EmailAddress != "bob@example.com" || !got.Enabled {
		t.Errorf("stored user %+v", got)
	}
	if len(got.Roles) != 1 || got.Roles[0] != e.readerOID {
		t.Errorf("roles %v, want [%s]", got.Roles, e.readerOID)
	}

	t.Run("invalid values are shown, with what was typed", func(t *testing.T) {
		bad := b.get(path)
		v := url.Values{"csrf": {bad.field(t, csrfRe)}, "version": {bad.field(t, versionRe)},
			"fullName": {"Typed Name"}, "emailAddress": {"not an address"}, "enabled": {"true"}}
		b.post(path, v).expect(t, http.StatusUnprocessableEntity, `E-mail &#34;not an address&#34; is not an e-mail address`, `role="alert"`, `value="Typed Name"`)
		v.Set("emailAddress", "")
		v.Set("password", "short")
		b.post(path, v).expect(t, http.StatusUnprocessableEntity, "Password must have at least 8 characters")
	})
	t.Run("a new password lets the user log in with it", func(t *testing.T) {
		p := b.get(path)
		v := url.Values{"csrf": {p.field(t, csrfRe)}, "version": {p.field(t, versionRe)},
			"fullName": {"Robert Builder"}, "enabled": {"true"}, "roles": {e.readerOID}, "password": {"BrandNew123"}}
		b.post(path, v).redirectsTo(t, path+"?ok=saved")
		e.browser(t).login("bob", "BrandNew123")
	})
}

func TestEditUserStaleVersion(t *testing.T) {
	t.Parallel()
	e := setup(t)
	carol := e.addUser(t, "carol", "Password1")
	b := e.browser(t)
	b.login("administrator", adminPassword)
	path := "/ui/users/" + carol.OID
	form := b.get(path)

	// Someone else saves first.
	if _, err := e.repo.Modify(context.Background(), e.system, repository.ModifyInput{Type: object.TypeUser, OID: carol.OID,
		Apply: func(o object.Object) error { o.(*object.User).FullName = "Changed Elsewhere"; return nil }}); err != nil {
		t.Fatal(err)
	}

	values := url.Values{"csrf": {form.field(t, csrfRe)}, "version": {form.field(t, versionRe)}, "fullName": {"Mine"}, "enabled": {"true"}}
	t.Run("save", func(t *testing.T) {
		b.post(path, values).expect(t, http.StatusConflict, "Someone else changed this user; reload", `role="alert"`, "Reload the current version")
	})
	t.Run("disable", func(t *testing.T) {
		v := url.Values{"csrf": values["csrf"], "version": values["version"], "enabled": {"false"}}
		b.post(path+"/enabled", v).expect(t, http.StatusConflict, "Someone else changed this user; reload")
	})
	if got := e.user(t, carol.OID); got.FullName != "Changed Elsewhere" || !got.Enabled {
		t.Errorf("the other change was overwritten: %+v", got)
	}
}

func TestDisableUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	dave := e.addUser(t, "dave", "Password1", e.readerOID)
	daves := e.browser(t)
	daves.login("dave", "Password1")
	daves.get("/ui/").expect(t, http.StatusOK, "Dashboard")

	admin := e.browser(t)
	admin.login("administrator", adminPassword)
	path := "/ui/users/" + dave.OID
	p := admin.get(path)
	p.expect(t, http.StatusOK, "Disable user")
	v := url.Values{"csrf": {p.field(t, csrfRe)}, "version": {p.field(t, versionRe)}, "enabled": {"false"}}
	admin.post(path+"/enabled", v).redirectsTo(t, path+"?ok=disabled")
	admin.get(path+"?ok=disabled").expect(t, http.StatusOK, "User disabled", "Enable user", `<span class="badge badge-off">Disabled</span>`)

	if e.user(t, dave.OID).Enabled {
		t.Fatal("dave is still enabled")
	}
	t.Run("the disabled user's session has ended", func(t *testing.T) {
		daves.get("/ui/").redirectsTo(t, "/ui/login?next="+url.QueryEscape("/ui/"))
		daves.post("/ui/login", url.Values{"username": {"dave"}, "password": {"Password1"}}).expect(t, http.StatusUnauthorized, "Wrong username or password")
	})
	t.Run("enable again", func(t *testing.T) {
		p := admin.get(path)
		v := url.Values{"csrf": {p.field(t, csrfRe)}, "version": {p.field(t, versionRe)}, "enabled": {"true"}}
		admin.post(path+"/enabled", v).redirectsTo(t, path+"?ok=enabled")
		if !e.user(t, dave.OID).Enabled {
			t.Fatal("dave is not enabled")
		}
	})
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.login("administrator", adminPassword)
	form := b.get("/ui/users/new")
	form.expect(t, http.StatusOK, `<label for="name">Name`, "Create user")
	csrf := form.field(t, csrfRe)

	v := url.Values{"csrf": {csrf}, "name": {"erin"}, "fullName": {"Erin Example"}, "emailAddress": {"erin@example.com"},
		"enabled": {"true"}, "roles": {e.readerOID}, "password": {"Password1"}}
	p := b.post("/ui/users", v)
	erin := e.userByName(t, "erin")
	p.redirectsTo(t, "/ui/users/"+erin.OID+"?ok=created")
	if erin.FullName != "Erin Example" || !erin.Enabled || len(erin.Roles) != 1 {
		t.Errorf("stored %+v", erin)
	}
	e.browser(t).login("erin", "Password1")

	tests := []struct {
		name   string
		change func(url.Values)
		status int
		text   string
	}{
		{"same name", func(v url.Values) { v.Set("name", "ERIN") }, http.StatusConflict, `A user named &#34;ERIN&#34; already exists`},
		{"no name", func(v url.Values) { v.Set("name", " ") }, http.StatusUnprocessableEntity, "Name is required"},
		{"unknown role", func(v url.Values) { v.Set("name", "frank"); v.Set("roles", "nope") }, http.StatusUnprocessableEntity, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{"csrf": {csrf}, "name": {"x"}, "fullName": {"Kept Value"}, "enabled": {"true"}}
			tt.change(v)
			p := b.post("/ui/users", v)
			if tt.status == http.StatusUnprocessableEntity && tt.text == "" {
				// An unknown role is not offered, so it is dropped and the user is created.
				p.redirectsTo(t, "/ui/users/"+e.userByName(t, "frank").OID+"?ok=created")
				return
			}
			p.expect(t, tt.status, tt.text, `value="Kept Value"`, `role="alert"`)
		})
	}
}

func TestFormsNeedTheCSRFToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	gina := e.addUser(t, "gina", "Password1")
	b := e.browser(t)
	b.login("administrator", adminPassword)
	path := "/ui/users/" + gina.OID
	version := b.get(path).field(t, versionRe)

	other := e.browser(t)
	other.login("administrator", adminPassword)
	otherCSRF := other.get("/ui/").field(t, csrfRe)

	tests := []struct {
		name, path string
		form       url.Values
	}{
		{"edit without token", path, url.Values{"version": {version}, "fullName": {"Hacked"}, "enabled": {"true"}}},
		{"edit with a wrong token", path, url.Values{"csrf": {"wrong"}, "version": {version}, "fullName": {"Hacked"}, "enabled": {"true"}}},
		{"edit with another session's token", path, url.Values{"csrf": {otherCSRF}, "version": {version}, "fullName": {"Hacked"}, "enabled": {"true"}}},
		{"disable without token", path + "/enabled", url.Values{"version": {version}, "enabled": {"false"}}},
		{"create without token", "/ui/users", url.Values{"name": {"mallory"}, "enabled": {"true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.post(tt.path, tt.form).expect(t, http.StatusForbidden, "no valid security token", `role="alert"`)
		})
	}
	t.Run("the token in the query string does not count", func(t *testing.T) {
		csrf := b.get(path).field(t, csrfRe)
		b.post(path+"?csrf="+url.QueryEscape(csrf), tests[0].form).expect(t, http.StatusForbidden)
	})
	got := e.user(t, gina.OID)
	if got.FullName != "Full gina" || !got.Enabled {
		t.Errorf("a refused form changed the user: %+v", got)
	}
	page, _ := e.repo.Search(context.Background(), e.system, object.Query{Type: object.TypeUser, Name: "mallory"})
	if page.Total != 0 {
		t.Error("a refused form created a user")
	}
}

func TestReaderCannotEdit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.addUser(t, "rita", "Password1", e.readerOID)
	henry := e.addUser(t, "henry", "Password1")
	b := e.browser(t)
	b.login("rita", "Password1")
	path := "/ui/users/" + henry.OID

	b.get("/ui/").expect(t, http.StatusOK, "read-only")
	list := b.get("/ui/users")
	list.expect(t, http.StatusOK, "henry")
	if strings.Contains(list.body, "New user") {
		t.Error("a reader sees the New user button")
	}
	view := b.get(path)
	view.expect(t, http.StatusOK, "Full henry")
	for _, s := range []string{"Disable user", "Enable user", ">Save<", `name="version"`, `action="/ui/users/` + henry.OID} {
		if strings.Contains(view.body, s) {
			t.Errorf("a reader's user page contains %q", s)
		}
	}
	csrf := view.field(t, csrfRe) // the logout form's

	tests := []struct {
		name, method, path string
		form               url.Values
	}{
		{"edit", http.MethodPost, path, url.Values{"csrf": {csrf}, "version": {"1"}, "fullName": {"By Rita"}, "enabled": {"true"}}},
		{"disable", http.MethodPost, path + "/enabled", url.Values{"csrf": {csrf}, "version": {"1"}, "enabled": {"false"}}},
		{"create", http.MethodPost, "/ui/users", url.Values{"csrf": {csrf}, "name": {"ritas-friend"}, "enabled": {"true"}}},
		{"new user form", http.MethodGet, "/ui/users/new", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p page
			if tt.method == http.MethodGet {
				p = b.get(tt.path)
			} else {
				p = b.post(tt.path, tt.form)
			}
			p.expect(t, http.StatusForbidden, "You are not allowed to do this", `role="alert"`)
		})
	}
	if got := e.user(t, henry.OID); got.FullName != "Full henry" || !got.Enabled || got.Version != henry.Version {
		t.Errorf("a reader changed the user: %+v", got)
	}
}

func TestUserNotFound(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.login("administrator", adminPassword)
	b.get("/ui/users/00000000-0000-0000-0000-00000000abcd").expect(t, http.StatusNotFound, "This object does not exist")
}
