package browser_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cadre/node/proctest"
)

// TestCachedBasicCredentialsCannotWriteFromAnotherSite is the attack of
// issue 20 in a real browser: Chromium holds the administrator's Basic
// credentials for the node, and a page on another origin auto-submits a
// text/plain form whose field name and value make up a JSON superuser. The
// browser sends the credentials with the form, and the node refuses it:
// nobody is created.
func TestCachedBasicCredentialsCannotWriteFromAnotherSite(t *testing.T) {
	exe := chromium(t)
	node := proctest.Start(t, "node1",
		"-Dmidpoint.administrator.initialPassword="+proctest.AdminPassword,
		"-Dmidpoint.hostName=127.0.0.1")
	const victim = "csrfbrowser"

	// text/plain encodes the field as name=value: the '=' lands in fullName.
	name := `{"name":"` + victim + `","password":"Csrf-Pass-123!","roles":["Superuser"],"fullName":"`
	page := fmt.Sprintf(`<!doctype html><title>cute cats</title>
<form enctype="text/plain" method="POST" action="%s/api/v1/objects/users">
<input type="hidden" name="%s" value='"}'>
</form>
<script>document.forms[0].submit()</script>`, node.URL, html.EscapeString(name))
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(evil.Close)
	if strings.EqualFold(strings.TrimPrefix(evil.URL, "http://"), strings.TrimPrefix(node.URL, "http://")) {
		t.Fatal("the attacker's page must be on another origin")
	}

	b := newTab(t, exe)
	withCreds := strings.Replace(node.URL, "http://", "http://"+proctest.AdminUser+":"+proctest.AdminPassword+"@", 1)
	b.do("open the API with credentials in the address", chromedp.Navigate(withCreds+"/api/v1/nodes"))
	b.waitJS("the node list", `document.body.innerText.includes('"nodeId":"node1"')`, 10*time.Second)
	// The browser now sends them unasked: the attack's premise holds.
	b.do("open the API without credentials", chromedp.Navigate(node.URL+"/api/v1/nodes"))
	b.waitJS("the node list from cached credentials", `document.body.innerText.includes('"nodeId":"node1"')`, 10*time.Second)

	b.do("visit the attacker's page", chromedp.Navigate(evil.URL))
	b.waitJS("the form's answer from the node",
		`location.href.startsWith(`+jsString(node.URL+"/api/v1/objects/users")+`) && document.body.innerText.trim() !== ""`, 15*time.Second)
	answer := eval[string](b, `document.body.innerText`)
	if !strings.Contains(answer, `"cross-origin"`) {
		t.Errorf("the node answered the cross-site form with %s, want 403 cross-origin", answer)
	}
	status, out := node.Admin().Do(t, http.MethodGet, "/api/v1/objects/users?name="+victim, nil)
	if status != http.StatusOK || out["total"] != float64(0) {
		t.Fatalf("the cross-site form created a user: %d %v", status, out)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
