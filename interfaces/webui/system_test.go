package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cadre/app/repository"
	"cadre/domain/object"
)

func (e *env) systemConfig(t *testing.T) *object.SystemConfiguration {
	t.Helper()
	o, err := e.repo.Get(context.Background(), e.system, object.TypeSystemConfiguration, object.SystemConfigurationOID)
	if err != nil {
		t.Fatalf("get system configuration: %v", err)
	}
	return o.(*object.SystemConfiguration)
}

func TestEditSystemConfiguration(t *testing.T) {
	t.Parallel()
	f := &fakeCluster{}
	e := setup(t, withCluster(f))
	b := e.browser(t)
	b.login("administrator", adminPassword)

	form := b.get("/ui/system")
	form.expect(t, http.StatusOK, `href="/ui/system" aria-current="page"`, "<h1>System configuration</h1>",
		`<label for="intraClusterHttpUrlPattern">Intra-cluster HTTP URL pattern</label>`, `<label for="subscriptionIdentifier">Subscription identifier</label>`,
		`aria-describedby="pattern-hint"`, "<code>$host</code>, <code>$port</code> and <code>$path</code>", "Intra-cluster URLs the nodes registered",
		"<code>http://node3.example:8080</code>")
	csrf, version := form.field(t, csrfRe), form.field(t, versionRe)

	v := url.Values{"csrf": {csrf}, "version": {version}, "intraClusterHttpUrlPattern": {" https://$host:$port/$path "}, "subscriptionIdentifier": {"SUB-0042"}}
	b.post("/ui/system", v).redirectsTo(t, "/ui/system?ok=saved")
	b.get("/ui/system?ok=saved").expect(t, http.StatusOK, "Saved.", `value="https://$host:$port/$path"`, `value="SUB-0042"`)
	got := e.systemConfig(t)
	if got.Infrastructure.IntraClusterHTTPURLPattern != "https://$host:$port/$path" || got.DeploymentInformation.SubscriptionIdentifier != "SUB-0042" {
		t.Errorf("stored %+v", got)
	}
	saved := got.Version

	tests := []struct {
		name   string
		form   url.Values
		status int
		texts  []string
	}{
		{"stale version", url.Values{"version": {version}, "intraClusterHttpUrlPattern": {"http://$host:9999"}, "subscriptionIdentifier": {"typed"}},
			http.StatusConflict, []string{"Someone else changed the system configuration; reload.", "Reload the current version", `value="http://$host:9999"`, `value="typed"`}},
		{"pattern without a scheme", url.Values{"intraClusterHttpUrlPattern": {"$host:$port"}},
			http.StatusUnprocessableEntity, []string{`The URL pattern &#34;$host:$port&#34; does not make an http:// or https:// URL with a host`, `value="$host:$port"`}},
		{"pattern without a host", url.Values{"intraClusterHttpUrlPattern": {"https:///$path"}},
			http.StatusUnprocessableEntity, []string{"does not make an http:// or https:// URL with a host"}},
		{"pattern with a space", url.Values{"intraClusterHttpUrlPattern": {"https://$host:$port/a b"}},
			http.StatusUnprocessableEntity, []string{"The URL pattern must not contain spaces."}},
		{"no version", url.Values{"version": {""}, "intraClusterHttpUrlPattern": {""}},
			http.StatusBadRequest, []string{"The form has no valid version field."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("csrf", csrf)
			if _, ok := tt.form["version"]; !ok {
				tt.form.Set("version", "2")
			}
			b.post("/ui/system", tt.form).expect(t, tt.status, append(tt.texts, `role="alert"`)...)
		})
	}
	t.Run("without a CSRF token", func(t *testing.T) {
		b.post("/ui/system", url.Values{"version": {"2"}, "intraClusterHttpUrlPattern": {""}}).expect(t, http.StatusForbidden, "no valid security token")
	})
	if got := e.systemConfig(t); got.Version != saved || got.Infrastructure.IntraClusterHTTPURLPattern != "https://$host:$port/$path" {
		t.Errorf("a refused form changed the system configuration: %+v", got)
	}

	t.Run("clearing the pattern", func(t *testing.T) {
		p := b.get("/ui/system")
		b.post("/ui/system", url.Values{"csrf": {csrf}, "version": {p.field(t, versionRe)}, "intraClusterHttpUrlPattern": {""},
			"subscriptionIdentifier": {""}}).redirectsTo(t, "/ui/system?ok=saved")
		if got := e.systemConfig(t); got.Infrastructure.IntraClusterHTTPURLPattern != "" || got.DeploymentInformation.SubscriptionIdentifier != "" {
			t.Errorf("stored %+v", got)
		}
	})
}

func TestSystemConfigurationForReaders(t *testing.T) {
	t.Parallel()
	e := setup(t)
	if _, err := e.repo.Modify(context.Background(), e.system, repository.ModifyInput{Type: object.TypeSystemConfiguration, OID: object.SystemConfigurationOID,
		Apply: func(o object.Object) error {
			o.(*object.SystemConfiguration).Infrastructure.IntraClusterHTTPURLPattern = "https://$host/$path"
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	e.addUser(t, "rita", "Password1", e.readerOID)
	b := e.browser(t)
	b.login("rita", "Password1")
	p := b.get("/ui/system")
	p.expect(t, http.StatusOK, "<code>https://$host/$path</code>", "<dt>Subscription identifier</dt><dd><span class=\"muted\">not set</span>")
	if strings.Contains(p.body, `action="/ui/system"`) {
		t.Error("a reader sees the system configuration form")
	}
	b.post("/ui/system", url.Values{"csrf": {p.field(t, csrfRe)}, "version": {"2"}, "intraClusterHttpUrlPattern": {""}}).
		expect(t, http.StatusForbidden, "You are not allowed to do this.")
	if got := e.systemConfig(t); got.Infrastructure.IntraClusterHTTPURLPattern != "https://$host/$path" {
		t.Errorf("a reader changed the system configuration: %+v", got)
	}
}

func TestNavigation(t *testing.T) {
	t.Parallel()
	e := setupTasks(t)
	b := e.admin(t)
	p := b.get("/ui/")
	var order []int
	for _, link := range []string{`<li><a href="/ui/"`, `<li><a href="/ui/tasks"`, `<li><a href="/ui/users"`, `<li><a href="/ui/roles"`,
		`<li><a href="/ui/reports"`, `<li><a href="/ui/system"`} {
		i := strings.Index(p.body, link)
		if i < 0 {
			t.Fatalf("no navigation link %s\n%s", link, p.body)
		}
		order = append(order, i)
	}
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Errorf("navigation out of order: %v", order)
		}
	}
	for path, nav := range map[string]string{"/ui/roles": "/ui/roles", "/ui/roles/new": "/ui/roles", "/ui/reports": "/ui/reports", "/ui/system": "/ui/system"} {
		b.get(path).expect(t, http.StatusOK, `href="`+nav+`" aria-current="page"`)
	}
}
