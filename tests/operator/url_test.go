package operator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"cadre/node/proctest"
)

// TestOneNodeURL: the start-up log, the dashboard's "This node" panel and the
// node row all name the node by the URL its peers use.
func TestOneNodeURL(t *testing.T) {
	p := proctest.Start(t, "", "-Dmidpoint.administrator.initialPassword="+proctest.AdminPassword, "-Dmidpoint.hostName=cadre-url-test")
	want := fmt.Sprintf("http://cadre-url-test:%d", p.Port)

	status, out := p.Admin().Do(t, "GET", "/api/v1/nodes", nil)
	if status != http.StatusOK {
		t.Fatalf("nodes: %d %v", status, out)
	}
	items, _ := out["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["url"] != want {
		t.Fatalf("node row URL: %v, want %s", items, want)
	}

	if !regexp.MustCompile(`msg="node ready" .*url=` + regexp.QuoteMeta(want) + ` `).MatchString(p.Log()) {
		t.Errorf("start-up log does not name %s:\n%s", want, p.Log())
	}

	body, _ := json.Marshal(map[string]string{"username": proctest.AdminUser, "password": proctest.AdminPassword})
	resp, err := http.Post(p.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || len(resp.Cookies()) == 0 {
		t.Fatalf("log in: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	req, _ := http.NewRequest("GET", p.URL+"/ui/", nil)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	dash, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(dash.Body)
	dash.Body.Close()
	if dash.StatusCode != http.StatusOK {
		t.Fatalf("dashboard: %d", dash.StatusCode)
	}
	if !strings.Contains(string(page), "<dt>URL</dt><dd>"+want+"</dd>") {
		t.Errorf("the dashboard's This node panel does not show %s", want)
	}
	if strings.Contains(string(page), "http://localhost:") {
		t.Errorf("the dashboard names the node by a second URL (localhost)")
	}
}
