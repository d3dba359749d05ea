package webui

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"cadre/domain/object"
	"cadre/domain/security"
	"cadre/domain/task"
	"cadre/interfaces/httpapi"
)

// Messages shown for errors that carry no detail fit for users.
const (
	msgInternal  = "Something went wrong; see the node log."
	msgForbidden = "You are not allowed to do this. Ask an administrator for a role that grants it."
)

// View is what every template receives: the page's own data in Data, and
// what the layout needs around it.
type View struct {
	NodeID string
	// User is the logged-in principal; nil on the login and anonymous error pages.
	User     *security.Principal
	CanWrite bool
	// CSRF is the session's token, for the hidden "csrf" field of every form.
	CSRF string
	// Flash is a success message chosen by the "ok" query parameter.
	Flash string
	// Error is shown in the alert box at the top of the page.
	Error string
	// Nav is the active main navigation item: "dashboard", "tasks", "users",
	// "roles", "reports", "system", "activity" or "approvals".
	Nav string
	// HasTasks is set when the node has a task manager, so the task pages exist.
	HasTasks bool
	// HasActivity is set when the cluster activity page exists.
	HasActivity bool
	// HasApprovals is set when the approvals page exists.
	HasApprovals bool
	Data         any
}

// flashes maps the "ok" query parameter of a redirect to its message. Only
// these texts can appear, so a link cannot put words into the page.
var flashes = map[string]string{
	"saved":     "Saved.",
	"created":   "User created.",
	"enabled":   "User enabled.",
	"disabled":  "User disabled; their sessions have ended.",
	"loggedout": "You have logged out.",

	"loggedout-everywhere": "You have logged out on every browser and node.",
	"sessions-ended":       "The user's sessions have ended on every node.",

	"task-created":   "Task created.",
	"task-suspended": "Task suspended.",
	"task-resumed":   "Task resumed.",
	"task-run":       "The task will run now.",
	"task-deleted":   "Task deleted.",

	"role-created": "Role created.",

	"saved-held":    "Saved. A role you gave needs approval: it is given once an approver approves it (see Approvals).",
	"created-held":  "User created. A role you gave needs approval: it is given once an approver approves it (see Approvals).",
	"case-approved": "Approved: the role is given to the user in a moment, by an approval task.",
	"case-rejected": "Rejected: the user does not get the role.",

	"scheduler-stopped": "Scheduler stopped: the node starts no new task runs until it is started again.",
	"scheduler-started": "Scheduler started.",

	"url-override-set":     "URL override saved: the node uses it as its intra-cluster URL from its next check-in.",
	"url-override-cleared": "URL override cleared: the node computes its intra-cluster URL again from its next check-in.",
}

var funcs = template.FuncMap{
	// datetime formats a time.Time or *time.Time in UTC to the second; the
	// zero time and nil are "—".
	"datetime": func(v any) string {
		var t time.Time
		switch v := v.(type) {
		case time.Time:
			t = v
		case *time.Time:
			if v != nil {
				t = *v
			}
		}
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	// search gives the "search_form" partial its target and current query.
	"search": func(action, query string) searchForm { return searchForm{Action: action, Query: query} },
	// token turns a state name into a CSS class part: "PARTIAL_ERROR" → "partial-error".
	"token": func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "-") },
}

// parseTemplates parses the layout and partials once, then each page into its
// own clone, so every page can define "title" and "content".
func parseTemplates(fsys fs.FS) (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	files, err := fs.Glob(fsys, "templates/pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	pages := make(map[string]*template.Template, len(files))
	for _, f := range files {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone layout: %w", err)
		}
		if _, err := t.ParseFS(fsys, f); err != nil {
			return nil, fmt.Errorf("parse %s: %w", f, err)
		}
		pages[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	if _, ok := pages["error"]; !ok {
		return nil, errors.New("templates/pages/error.html is missing")
	}
	return pages, nil
}

// render writes the page template name with data, wrapped in the layout.
func (h *Handlers) render(c *gin.Context, status int, name string, data any) {
	h.renderAlert(c, status, name, "", data)
}

// renderAlert is render with an error message in the alert box.
func (h *Handlers) renderAlert(c *gin.Context, status int, name, alert string, data any) {
	t, ok := h.pages[name]
	if !ok {
		h.log.ErrorContext(c.Request.Context(), "no such page template", "template", name)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte(msgInternal))
		return
	}
	v := h.view(c, data)
	v.Error = alert
	if alert == "" && status < 400 {
		v.Flash = flashes[c.Query("ok")]
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.ErrorContext(c.Request.Context(), "render page", "template", name, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte(msgInternal))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// view is the View of a request, without the alert and flash.
func (h *Handlers) view(c *gin.Context, data any) View {
	v := View{NodeID: h.nodeID, Nav: navOf(c.Request.URL.Path), HasTasks: h.tasks != nil, HasActivity: h.activity != nil,
		HasApprovals: h.approvals != nil, Data: data}
	if p, ok := httpapi.PrincipalOf(c); ok && httpapi.IsCookieAuth(c) {
		v.User, v.CanWrite = &p, p.CanWrite()
		sess, _ := httpapi.SessionOf(c)
		v.CSRF = sess.CSRFToken
	}
	return v
}

// renderFragment writes the template block of page, without the layout:
// the part of a page that cadre.js swaps in place (data-refresh-url).
func (h *Handlers) renderFragment(c *gin.Context, page, block string, data any) {
	t, ok := h.pages[page]
	if !ok {
		h.log.ErrorContext(c.Request.Context(), "no such page template", "template", page)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte(msgInternal))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, h.view(c, data)); err != nil {
		h.log.ErrorContext(c.Request.Context(), "render fragment", "template", page, "block", block, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte(msgInternal))
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

func navOf(p string) string {
	switch {
	case p == "/ui/" || p == "/ui":
		return "dashboard"
	case strings.HasPrefix(p, "/ui/users"):
		return "users"
	case strings.HasPrefix(p, "/ui/tasks"):
		return "tasks"
	case strings.HasPrefix(p, "/ui/roles"):
		return "roles"
	case strings.HasPrefix(p, "/ui/reports"):
		return "reports"
	case strings.HasPrefix(p, "/ui/system"):
		return "system"
	case strings.HasPrefix(p, "/ui/nodes"):
		return "dashboard"
	case strings.HasPrefix(p, "/ui/activity"):
		return "activity"
	case strings.HasPrefix(p, "/ui/approvals"):
		return "approvals"
	}
	return ""
}

// errorPage is the data of the "error" template.
type errorPage struct {
	Title   string
	Message string
}

var errorTitles = map[int]string{
	http.StatusBadRequest:          "Bad request",
	http.StatusUnauthorized:        "Not logged in",
	http.StatusForbidden:           "Not allowed",
	http.StatusNotFound:            "Not found",
	http.StatusMethodNotAllowed:    "Not allowed",
	http.StatusConflict:            "Conflict",
	http.StatusUnprocessableEntity: "Cannot save",
	http.StatusInternalServerError: "Something went wrong",
}

// renderError shows the error page with a message in words.
func (h *Handlers) renderError(c *gin.Context, status int, message string) {
	title, ok := errorTitles[status]
	if !ok {
		title = http.StatusText(status)
	}
	h.render(c, status, "error", errorPage{Title: title, Message: message})
}

// fail shows the error page for an application error. Errors without a
// user-facing meaning are logged and shown as "Something went wrong".
func (h *Handlers) fail(c *gin.Context, err error) {
	status, message := describe(err)
	if status == http.StatusInternalServerError {
		p, _ := httpapi.PrincipalOf(c)
		h.log.ErrorContext(c.Request.Context(), "web UI request failed", "method", c.Request.Method,
			"path", c.Request.URL.Path, "user", p.Name, "err", err)
	}
	h.renderError(c, status, message)
}

// describe maps an application error to a status and a sentence for people.
func describe(err error) (int, string) {
	var conflict *object.ConflictError
	switch {
	case errors.As(err, &conflict):
		return http.StatusConflict, "Someone else changed this object; reload the page and try again."
	case errors.Is(err, security.ErrForbidden):
		return http.StatusForbidden, msgForbidden
	case errors.Is(err, security.ErrUnauthenticated), errors.Is(err, security.ErrSessionExpired), errors.Is(err, security.ErrBadCredentials):
		return http.StatusUnauthorized, "Your session has ended; log in again."
	case errors.Is(err, object.ErrNotFound):
		return http.StatusNotFound, "This object does not exist; it may have been deleted."
	case errors.Is(err, object.ErrAlreadyExists):
		return http.StatusConflict, "An object with this name already exists."
	case errors.Is(err, object.ErrInvalid):
		return http.StatusUnprocessableEntity, sentence(fieldLabels.Replace(strings.TrimPrefix(err.Error(), object.ErrInvalid.Error()+": ")))
	case errors.Is(err, task.ErrNotFound):
		return http.StatusNotFound, "This task does not exist; it may have been deleted."
	case errors.Is(err, task.ErrInvalid):
		return http.StatusUnprocessableEntity, sentence(strings.TrimPrefix(err.Error(), task.ErrInvalid.Error()+": "))
	case errors.Is(err, task.ErrIllegalState):
		return http.StatusConflict, sentence(strings.TrimPrefix(err.Error(), task.ErrIllegalState.Error()+": "))
	case errors.Is(err, task.ErrUnknownHandler):
		return http.StatusUnprocessableEntity, "There is no such task handler on this node."
	}
	// Errors other packages registered with httpapi.RegisterError carry
	// messages meant for clients.
	if status, _ := httpapi.StatusOf(err); status != http.StatusInternalServerError {
		return status, sentence(err.Error())
	}
	return http.StatusInternalServerError, msgInternal
}

// fieldLabels turns the JSON field names in validation messages into the
// labels people see on the forms.
var fieldLabels = strings.NewReplacer("emailAddress ", "E-mail ", "fullName ", "Full name ")

// sentence capitalises the first letter and ends the text with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// searchForm is the data of the "search_form" partial.
type searchForm struct{ Action, Query string }
