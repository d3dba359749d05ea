package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cadre/interfaces/httpapi"
	"cadre/interfaces/webui"
)

func TestLoginForm(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name     string
		form     url.Values
		headers  []string
		status   int
		location string
		text     string
	}{
		{name: "wrong password", form: url.Values{"username": {"administrator"}, "password": {"nope-nope"}},
			status: http.StatusUnauthorized, text: "Wrong username or password"},
		{name: "unknown user", form: url.Values{"username": {"nobody"}, "password": {adminPassword}},
			status: http.StatusUnauthorized, text: "Wrong username or password"},
		{name: "empty fields", form: url.Values{"username": {""}, "password": {""}},
			status: http.StatusBadRequest, text: "Enter your username and your password"},
		{name: "ok goes to the dashboard", form: url.Values{"username": {"administrator"}, "password": {adminPassword}},
			status: http.StatusSeeOther, location: "/ui/"},
		{name: "ok follows a local next", form: url.Values{"username": {"administrator"}, "password": {adminPassword}, "next": {"/ui/users?q=a"}},
			status: http.StatusSeeOther, location: "/ui/users?q=a"},
		{name: "a foreign next is ignored", form: url.Values{"username": {"administrator"}, "password": {adminPassword}, "next": {"//evil.example/ui/"}},
			status: http.StatusSeeOther, location: "/ui/"},
		{name: "an absolute next is ignored", form: url.Values{"username": {"administrator"}, "password": {adminPassword}, "next": {"https://evil.example/ui/"}},
			status: http.StatusSeeOther, location: "/ui/"},
		{name: "same-site origin is fine", form: url.Values{"username": {"administrator"}, "password": {adminPassword}},
			headers: []string{"Origin", "ORIGIN"}, status: http.StatusSeeOther, location: "/ui/"},
		{name: "cross-site origin is refused", form: url.Values{"username": {"administrator"}, "password": {adminPassword}},
			headers: []string{"Origin", "https://evil.example"}, status: http.StatusForbidden, text: "sent from another site"},
		{name: "cross-site referer is refused", form: url.Values{"username": {"administrator"}, "password": {adminPassword}},
			headers: []string{"Referer", "https://evil.example/login.html"}, status: http.StatusForbidden, text: "sent from another site"},
		{name: "opaque origin is refused", form: url.Values{"username": {"administrator"}, "password": {adminPassword}},
			headers: []string{"Origin", "null"}, status: http.StatusForbidden, text: "sent from another site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser(t)
			for i := range tt.headers {
				tt.headers[i] = strings.ReplaceAll(tt.headers[i], "ORIGIN", e.srv.URL)
			}
			p := b.post("/ui/login", tt.form, tt.headers...)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.status, p.body)
			}
			if got := p.header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if !strings.Contains(p.body, tt.text) {
				t.Errorf("page does not contain %q\n%s", tt.text, p.body)
			}
			if tt.status >= 400 {
				if !strings.Contains(p.body, `role="alert"`) {
					t.Errorf("error is not in an alert box\n%s", p.body)
				}
				if strings.Contains(p.header.Get("Set-Cookie"), httpapi.SessionCookie+"=") {
					t.Errorf("failed login set a session cookie: %s", p.header.Get("Set-Cookie"))
				}
			}
		})
	}
}

func TestLoginShowsDashboard(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.get("/ui/login").expect(t, http.StatusOK, `<label for="username">Username</label>`, `<label for="password">Password</label>`)

	p := b.login("administrator", adminPassword)

	var cookie *http.Cookie
	for _, c := range p.resp.Cookies() {
		if c.Name == httpapi.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value == "" {
		t.Fatalf("no session cookie set: %v", p.header.Values("Set-Cookie"))
	}
	if !cookie.HttpOnly {
		t.Error("session cookie is not HttpOnly")
	}
	if cookie.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie SameSite = %v, want Lax", cookie.SameSite)
	}
	if cookie.Path != "/" {
		t.Errorf("session cookie path %q, want /", cookie.Path)
	}

	d := b.get("/ui/")
	d.expect(t, http.StatusOK, "Dashboard", `<dd class="node-id">node1</dd>`, "http://node1.example:8080", "sqlite",
		"0.1.0-test", "1h 30m", `id="count-users">1<`, `id="count-roles">2<`, "Log out")
	if got := d.header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options %q, want DENY", got)
	}
	if got := d.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}

	// Already logged in: the login page sends you on.
	b.get("/ui/login?next=/ui/users").redirectsTo(t, "/ui/users")
}

func TestAnonymousIsSentToLogin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	tests := []struct{ path, location string }{
		{"/", "/ui/"},
		{"/ui/", "/ui/login?next=" + url.QueryEscape("/ui/")},
		{"/ui/users?q=ad&page=2", "/ui/login?next=" + url.QueryEscape("/ui/users?q=ad&page=2")},
		{"/ui/users/new", "/ui/login?next=" + url.QueryEscape("/ui/users/new")},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			b.get(tt.path).redirectsTo(t, tt.location)
		})
	}
	t.Run("a POST goes to the login page", func(t *testing.T) {
		b.post("/ui/users", url.Values{"name": {"x"}}).redirectsTo(t, "/ui/login")
	})
	t.Run("HTTP Basic is not a web session", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/ui/", nil)
		req.SetBasicAuth("administrator", adminPassword)
		b.do(req).redirectsTo(t, "/ui/login?next="+url.QueryEscape("/ui/"))
	})
	t.Run("after login the next page is shown", func(t *testing.T) {
		p := b.post("/ui/login", url.Values{"username": {"administrator"}, "password": {adminPassword}, "next": {"/ui/users?q=ad"}})
		p.redirectsTo(t, "/ui/users?q=ad")
		b.get("/ui/users?q=ad").expect(t, http.StatusOK, "administrator")
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.login("administrator", adminPassword)
	dash := b.get("/ui/")
	csrf := dash.field(t, csrfRe)
	u, _ := url.Parse(e.srv.URL)
	old := b.c.Jar.Cookies(u)

	t.Run("without the CSRF token it is refused", func(t *testing.T) {
		b.post("/ui/logout", url.Values{}).expect(t, http.StatusForbidden, "no valid security token")
		b.get("/ui/").expect(t, http.StatusOK, "Dashboard")
	})

	b.post("/ui/logout", url.Values{"csrf": {csrf}}).redirectsTo(t, "/ui/login?ok=loggedout")
	b.get("/ui/login?ok=loggedout").expect(t, http.StatusOK, "You have logged out")
	b.get("/ui/").redirectsTo(t, "/ui/login?next="+url.QueryEscape("/ui/"))

	t.Run("the old cookie no longer works", func(t *testing.T) {
		replay := e.browser(t)
		replay.c.Jar.SetCookies(u, old)
		replay.get("/ui/").redirectsTo(t, "/ui/login?next="+url.QueryEscape("/ui/"))
	})
}

func TestPagesAndErrors(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) {
		o.info = func(context.Context) webui.NodeInfo { panic("dashboard exploded") }
	})
	b := e.browser(t)
	b.login("administrator", adminPassword)

	t.Run("a failure shows words, not a stack", func(t *testing.T) {
		p := b.get("/ui/")
		p.expect(t, http.StatusInternalServerError, "Something went wrong; see the node log", `role="alert"`)
		for _, leak := range []string{"goroutine", "dashboard exploded", ".go:"} {
			if strings.Contains(p.body, leak) {
				t.Errorf("page leaks %q\n%s", leak, p.body)
			}
		}
		if !strings.Contains(e.log.String(), "dashboard exploded") {
			t.Errorf("the panic is not in the node log:\n%s", e.log.String())
		}
	})
	t.Run("unknown UI page is an HTML 404 with the menu", func(t *testing.T) {
		p := b.get("/ui/nowhere")
		p.expect(t, http.StatusNotFound, "There is no page at /ui/nowhere", `href="/ui/users"`)
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type %q, want HTML", ct)
		}
	})
	t.Run("unknown API path keeps the JSON shape", func(t *testing.T) {
		p := b.get("/api/v1/nowhere")
		p.expect(t, http.StatusNotFound, `"error":"not-found"`)
	})
	t.Run("static files are public", func(t *testing.T) {
		anon := e.browser(t)
		p := anon.get("/static/cadre.css")
		p.expect(t, http.StatusOK, ":focus-visible")
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("Content-Type %q, want text/css", ct)
		}
		anon.get("/static/cadre.js").expect(t, http.StatusOK, "data-confirm")
		anon.get("/static/").expect(t, http.StatusNotFound)
		anon.get("/static/nope.css").expect(t, http.StatusNotFound)
	})
}

// TestLogoutEverywhere: a user logs out on every browser from their own
// page; an administrator logs a user out everywhere from the user's page.
func TestLogoutEverywhere(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rita := e.addUser(t, "rita", "Reader123!", e.readerOID)
	page := "/ui/users/" + rita.OID
	one, two := e.browser(t), e.browser(t)
	one.login("rita", "Reader123!")
	two.login("rita", "Reader123!")
	loggedOut := func(what string, b *browser) {
		t.Helper()
		b.get("/ui/").redirectsTo(t, "/ui/login?next="+url.QueryEscape("/ui/"))
	}

	own := one.get(page)
	own.expect(t, http.StatusOK, "Log out everywhere", `action="/ui/logout-everywhere"`)
	one.post("/ui/logout-everywhere", url.Values{}).expect(t, http.StatusForbidden, "no valid security token")
	two.get("/ui/").expect(t, http.StatusOK, "Dashboard")
	one.post("/ui/logout-everywhere", url.Values{"csrf": {own.field(t, csrfRe)}}).redirectsTo(t, "/ui/login?ok=loggedout-everywhere")
	one.get("/ui/login?ok=loggedout-everywhere").expect(t, http.StatusOK, "You have logged out on every browser and node")
	loggedOut("the browser that asked", one)
	loggedOut("the user's other browser", two)

	two.login("rita", "Reader123!")
	admin := e.browser(t)
	admin.login("administrator", adminPassword)
	form := admin.get(page)
	form.expect(t, http.StatusOK, `action="/ui/users/`+rita.OID+`/sessions/end"`)
	two.post("/ui/users/"+rita.OID+"/sessions/end", url.Values{"csrf": {two.get(page).field(t, csrfRe)}}).expect(t, http.StatusForbidden)
	admin.post("/ui/users/"+rita.OID+"/sessions/end", url.Values{"csrf": {form.field(t, csrfRe)}}).redirectsTo(t, page+"?ok=sessions-ended")
	admin.get(page+"?ok=sessions-ended").expect(t, http.StatusOK, "The user&#39;s sessions have ended on every node.")
	loggedOut("after the administrator's log out everywhere", two)
}
