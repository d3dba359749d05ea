package webui_test

import (
	"net/http"
	"testing"
)

// TestTaskFormThreadStopActionAndUniqueKey: the new-task form offers the
// thread stop action (restart first) and a unique key, the task page shows
// them, and a second task with a key that an open task holds is refused on
// the form, naming the holder, with what was typed kept.
func TestTaskFormThreadStopActionAndUniqueKey(t *testing.T) {
	t.Parallel()
	e := setupTasks(t)
	b := e.admin(t)
	form := b.get("/ui/tasks/new")
	form.expect(t, http.StatusOK, `<label for="threadStopAction">`, `<option value="restart" selected>`, `<option value="reschedule">`,
		`<option value="suspend">`, `<option value="close">`, `<label for="uniqueKey">`)
	csrf := form.field(t, csrfRe)
	keyed := map[string]string{"name": "nightly sync", "schedule": "cron", "cron": yearly, "threadStopAction": "suspend", "uniqueKey": "nightly"}

	created := b.post("/ui/tasks", taskForm(csrf, keyed))
	m := taskLocationRe.FindStringSubmatch(created.header.Get("Location"))
	if created.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d to %q, want 303 to the task page\n%s", created.status, created.header.Get("Location"), created.body)
	}
	b.get(created.header.Get("Location")).expect(t, http.StatusOK,
		`<dt>Thread stop action</dt><dd class="thread-stop-action">suspend</dd>`, `<dt>Unique key</dt><dd class="unique-key"><code>nightly</code></dd>`)

	again := b.post("/ui/tasks", taskForm(csrf, keyed))
	again.expect(t, http.StatusConflict, `<div class="alert alert-error" role="alert">`, m[1], "is not closed yet",
		`<option value="suspend" selected>`, `id="uniqueKey" name="uniqueKey" type="text" maxlength="256" autocomplete="off" spellcheck="false" class="code" value="nightly"`)

	bad := b.post("/ui/tasks", taskForm(csrf, map[string]string{"threadStopAction": "explode"}))
	bad.expect(t, http.StatusUnprocessableEntity, "ThreadStopAction must be restart, reschedule, suspend or close")
}
