package browser_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cadre/db/dbtest"
	"cadre/node/proctest"
)

// TestApprovalsPageIsLive is an approver with the approvals page open on
// node1: a case opened by someone else through node2 appears without a
// reload; the approver comments and approves it, the case leaves the open
// list, and the decided list shows the role given by the approval task.
func TestApprovalsPageIsLive(t *testing.T) {
	exe := chromium(t)
	url := dbtest.Postgres(t) // before the processes: cleanups run in reverse
	var nodes []*proctest.Proc
	for i := 1; i <= 2; i++ {
		nodes = append(nodes, proctest.Start(t, fmt.Sprintf("node%d", i), clusterArgs(url)...))
	}
	node1, node2 := nodes[0].Admin(), nodes[1].Admin()
	must := func(c proctest.Client, want int, method, path string, body any) map[string]any {
		t.Helper()
		status, out := c.Do(t, method, path, body)
		if status != want {
			t.Fatalf("%s %s: want %d, got %d %v", method, path, want, status, out)
		}
		return out
	}
	alice := must(node1, http.StatusCreated, "POST", "/api/v1/objects/users", map[string]any{"name": "alice", "fullName": "Alice Approver", "password": "Approve123!"})["oid"].(string)
	carol := must(node1, http.StatusCreated, "POST", "/api/v1/objects/users", map[string]any{"name": "carol"})["oid"].(string)
	dave := must(node1, http.StatusCreated, "POST", "/api/v1/objects/users", map[string]any{"name": "dave"})["oid"].(string)
	must(node1, http.StatusCreated, "POST", "/api/v1/objects/roles", map[string]any{"name": "Auditor", "approvers": []string{alice}})

	b := newTab(t, exe)
	b.do("open the login page", chromedp.Navigate(nodes[0].URL+"/ui/login?next=/ui/approvals"))
	b.do("log in as alice",
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "Approve123!"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/login"] button[type="submit"]`)))
	b.waitJS("the approvals page, with nothing to decide", `location.pathname === "/ui/approvals" && !!document.querySelector("#no-open-cases")`, 10*time.Second)
	eval[bool](b, `(window.cadreNoReload = true)`)

	// The administrator gives carol the role through node2: a case opens.
	caseOID := must(node2, http.StatusAccepted, "PATCH", "/api/v1/objects/users/"+carol, map[string]any{"roles": []string{"Auditor"}})["case"].(string)
	row := `document.querySelector('#approvals-live tr#case-` + caseOID + `')`
	b.waitJS("the case opened on node2, shown on node1 without a reload", row+` !== null && `+row+`.innerText.includes("carol") &&
		`+row+`.innerText.includes("administrator") && window.cadreNoReload === true`, 15*time.Second)

	// A comment being typed survives the list refreshing with another case.
	b.do("write a comment", chromedp.SendKeys(chromedp.ID("comment-"+caseOID), "carol audits Q4"))
	other := must(node2, http.StatusAccepted, "PATCH", "/api/v1/objects/users/"+dave, map[string]any{"roles": []string{"Auditor"}})["case"].(string)
	b.waitJS("a second case, with the comment still typed in the first", `!!document.querySelector('#approvals-live tr#case-`+other+`') &&
		document.querySelector('#comment-`+caseOID+`').value === "carol audits Q4" && window.cadreNoReload === true`, 15*time.Second)

	b.do("approve", chromedp.Click(chromedp.ID("approve-"+caseOID)))
	b.waitJS("the case gone from the open list, the other one left", `location.search === "?ok=case-approved" && `+row+` === null &&
		!!document.querySelector('#approvals-live tr#case-`+other+`')`, 10*time.Second)
	decided := `document.querySelector('#approvals-live tr.case-approved[data-case="` + caseOID + `"]')`
	b.waitJS("the decision with its audit, and the role given", decided+` !== null && `+decided+`.innerText.includes("alice") &&
		`+decided+`.innerText.includes("carol audits Q4") && !`+decided+`.querySelector('td[data-label="Role given"]').innerText.includes("pending")`, 30*time.Second)

	roles := must(node1, http.StatusOK, "GET", "/api/v1/objects/users/"+carol, nil)["roles"].([]any)
	if len(roles) != 1 {
		t.Fatalf("carol's roles after the approval: %v", roles)
	}
}
