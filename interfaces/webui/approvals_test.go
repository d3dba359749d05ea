package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"cadre/app/approval"
	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/task"
	"cadre/interfaces/webui"
)

// noTasks stands in for the task manager: approval tasks are made, never run.
type noTasks struct{}

func (noTasks) Create(context.Context, taskmanager.CreateTask) (*task.Task, error) {
	return &task.Task{OID: uuid.NewString()}, nil
}
func (noTasks) Resume(_ context.Context, oid string) (*task.Task, error) {
	return &task.Task{OID: oid}, nil
}
func (noTasks) Delete(context.Context, string) error { return nil }

var caseRe = regexp.MustCompile(`data-case="([^"]+)"`)

func withApprovals(o *options) {
	o.deps = func(d *webui.Deps) {
		d.Approvals = approval.NewService(d.Repo, noTasks{}, nil, d.Log, approval.Options{})
	}
}

// TestApprovalsPage: a role given on the user form waits in a case; the
// approver sees it on the approvals page (and its live fragment) and
// decides it with a CSRF-protected form, once; others see nothing to decide.
func TestApprovalsPage(t *testing.T) {
	t.Parallel()
	e := setup(t, withApprovals)
	ctx := context.Background()
	alice := e.addUser(t, "alice", "Approve123!")
	e.addUser(t, "eve", "Approve123!", e.readerOID)
	carol := e.addUser(t, "carol", "Approve123!")
	auditor, err := e.repo.AddSystem(ctx, repository.AddInput{Object: &object.Role{Meta: object.Meta{Name: "Auditor"}, Approvers: []string{alice.OID}}})
	if err != nil {
		t.Fatal(err)
	}

	admin := e.browser(t)
	admin.login("administrator", adminPassword)
	path := "/ui/users/" + carol.OID
	form := admin.get(path)
	admin.post(path, url.Values{"csrf": {form.field(t, csrfRe)}, "version": {form.field(t, versionRe)}, "enabled": {"true"},
		"roles": {auditor.ObjectMeta().OID, e.readerOID}}).redirectsTo(t, path+"?ok=saved-held")
	admin.get(path+"?ok=saved-held").expect(t, http.StatusOK, "A role you gave needs approval")
	if got := e.user(t, carol.OID).Roles; len(got) != 1 || got[0] != e.readerOID {
		t.Fatalf("carol's roles %v: want only Reader until Auditor is approved", got)
	}

	a := e.browser(t)
	a.login("alice", "Approve123!")
	for _, p := range []string{"/ui/approvals", "/ui/approvals/fragment"} {
		a.get(p).expect(t, http.StatusOK, `data-refresh-url="/ui/approvals/fragment"`, "<td data-label=\"Role\">Auditor</td>",
			"<td data-label=\"For user\">carol</td>", "<td data-label=\"Requested by\">administrator</td>", ">Approve</button>", ">Reject</button>")
	}
	if p := a.get("/ui/approvals"); !strings.Contains(p.body, `href="/ui/approvals" aria-current="page"`) {
		t.Error("no current Approvals item in the navigation")
	}

	eve := e.browser(t)
	eve.login("eve", "Approve123!")
	eve.get("/ui/approvals").expect(t, http.StatusOK, "Nothing waits for your decision.")

	page := a.get("/ui/approvals")
	caseOID := page.field(t, caseRe)
	approve := "/ui/approvals/" + caseOID + "/approve"
	a.post(approve, url.Values{"comment": {"ok"}}).expect(t, http.StatusForbidden, "no valid security token")
	eveCSRF := eve.get("/ui/approvals").field(t, csrfRe)
	eve.post(approve, url.Values{"csrf": {eveCSRF}}).expect(t, http.StatusForbidden)

	a.post(approve, url.Values{"csrf": {page.field(t, csrfRe)}, "comment": {"needed for the audit"}}).redirectsTo(t, "/ui/approvals?ok=case-approved")
	done := a.get("/ui/approvals?ok=case-approved")
	done.expect(t, http.StatusOK, "Approved: the role is given", "Nothing waits for your decision.", "Recently decided",
		"needed for the audit", "<td data-label=\"Decided by\">alice</td>", "pending")

	adminCSRF := admin.get("/ui/approvals").field(t, csrfRe)
	admin.post("/ui/approvals/"+caseOID+"/reject", url.Values{"csrf": {adminCSRF}}).expect(t, http.StatusConflict, "Someone else decided this case first")
	o, err := e.repo.Get(ctx, e.system, object.TypeCase, caseOID)
	if err != nil {
		t.Fatal(err)
	}
	if c := o.(*object.Case); c.State != object.CaseApproved || c.DecidedBy != alice.OID || c.Comment != "needed for the audit" {
		t.Fatalf("case after a late rejection: %+v", c)
	}
}

// TestRoleApprovers: the role form takes approvers by name, stores their
// OIDs and shows their names again; a name that is no user is refused.
func TestRoleApprovers(t *testing.T) {
	t.Parallel()
	e := setup(t, withApprovals)
	alice := e.addUser(t, "alice", "Approve123!")
	bob := e.addUser(t, "bob", "Approve123!")
	e.addUser(t, "rita", "Approve123!", e.readerOID)
	b := e.browser(t)
	b.login("administrator", adminPassword)
	form := b.get("/ui/roles/new")
	form.expect(t, http.StatusOK, `<label for="approvers">Approvers</label>`)
	csrf := form.field(t, csrfRe)

	b.post("/ui/roles/new", url.Values{"csrf": {csrf}, "name": {"Vault"}, "approvers": {"nobody"}}).
		expect(t, http.StatusUnprocessableEntity, "Approver &#34;nobody&#34; is not a user")
	created := b.post("/ui/roles/new", url.Values{"csrf": {csrf}, "name": {"Vault"}, "approvers": {"alice, bob"}})
	m := roleLocationRe.FindStringSubmatch(created.header.Get("Location"))
	if m == nil {
		t.Fatalf("create: %d to %q\n%s", created.status, created.header.Get("Location"), created.body)
	}
	if r := e.role(t, m[1]); strings.Join(r.Approvers, ",") != alice.OID+","+bob.OID {
		t.Fatalf("approvers %v, want the OIDs of alice and bob", r.Approvers)
	}
	page := b.get("/ui/roles/" + m[1])
	page.expect(t, http.StatusOK, `value="alice, bob"`)
	b.post("/ui/roles/"+m[1], url.Values{"csrf": {csrf}, "version": {page.field(t, versionRe)}, "name": {"Vault"}, "approvers": {"bob"}}).
		redirectsTo(t, "/ui/roles/"+m[1]+"?ok=saved")
	if r := e.role(t, m[1]); strings.Join(r.Approvers, ",") != bob.OID {
		t.Fatalf("approvers after the edit %v, want bob's OID", r.Approvers)
	}
	reader := e.browser(t)
	reader.login("rita", "Approve123!")
	reader.get("/ui/roles/"+m[1]).expect(t, http.StatusOK, "<dt>Approvers</dt><dd>bob</dd>")
}
