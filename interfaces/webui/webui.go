// Package webui is the server-rendered web UI: login, the cluster dashboard,
// users, roles, tasks, reports and the system configuration, on the same Gin
// engine as the REST API.
//
// Adding a page group: write one file (tasks.go) with its handlers and a
// routesTasks(g *gin.RouterGroup) method, a template web/templates/pages/<name>.html
// that defines "title" and "content", and add routesTasks to the list in
// Register. Handlers answer with h.render (a page), h.renderAlert (a page with
// an error box) or h.fail (an error page for an application error); POSTs are
// CSRF-checked by the group, and h.requireWrite guards every change.
package webui

import (
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"cadre/app/approval"
	"cadre/app/auth"
	appcluster "cadre/app/cluster"
	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/cluster"
	"cadre/interfaces/httpapi"
	"cadre/web"
)

// Deps are the application services the web UI drives.
type Deps struct {
	// NodeID is shown in every page header.
	NodeID string
	Repo   *repository.Service
	Auth   *auth.Service
	Log    *slog.Logger
	// Info describes this node for the dashboard; nil shows only NodeID.
	Info func(ctx context.Context) NodeInfo
	// Tasks is the task manager behind the /ui/tasks pages; nil leaves the
	// task pages (and the "Tasks" navigation item) out.
	Tasks *taskmanager.Manager

	// Nodes lists every node of the cluster with its check-in age (by the
	// database clock), errors and warnings, for the dashboard's node table;
	// nil leaves the table out.
	Nodes func(ctx context.Context) ([]appcluster.NodeView, error)
	// Reachability is, per node id, what this node last saw when it called
	// that node; nil shows no reachability column.
	Reachability func() map[string]PeerReach
	// SchedulerStop and SchedulerStart pause and resume scheduling on the
	// named node, which may be another one (the caller forwards the call);
	// the dashboard offers the buttons only when both are set.
	SchedulerStop  func(ctx context.Context, nodeID string) error
	SchedulerStart func(ctx context.Context, nodeID string) error
	// SetURLOverride sets or ("") clears a node's urlOverride; nil leaves the
	// dashboard's URL override form out.
	SetURLOverride func(ctx context.Context, nodeID, override string) error
	// ReportDownloadURL is the path that downloads a report's file, for
	// example "/api/v1/reports/<oid>/download"; nil shows no download links.
	ReportDownloadURL func(oid string) string
	// Activity lists cluster events newest first, at most limit, older than
	// the event of ID before (0: the newest); nil leaves the activity page
	// (and its navigation item) out.
	Activity func(ctx context.Context, before int64, limit int) ([]cluster.Event, error)
	// EndSessions ends every session of a user on every node ("log out
	// everywhere"); nil ends them in the repository and on this node only.
	EndSessions func(ctx context.Context, userOID string) error
	// Samples are what the cluster did over the last minutes, oldest first,
	// for the dashboard's charts; nil leaves the charts out.
	Samples func() []ClusterSample
	// Approvals lists and decides approval cases; nil leaves the approvals
	// page (and its navigation item) out.
	Approvals *approval.Service
}

// ClusterSample is one point of the dashboard's charts, taken at a check-in.
type ClusterSample struct {
	At time.Time
	// Seconds is the time since the previous sample.
	Seconds float64
	// Completed counts the buckets each node completed since the previous
	// sample; Running the tasks running on each node at At.
	Completed, Running map[string]int64
}

// PeerReach is what this node last saw when it called another node.
type PeerReach struct {
	LastOK      time.Time // last successful call; zero if none
	LastError   string    // text of the last failed call; empty if none
	LastErrorAt time.Time
}

// NodeInfo is what the dashboard shows about the node that serves it.
type NodeInfo struct {
	NodeID   string
	URL      string
	Database string // dialect, for example "sqlite" or "postgresql"
	Started  time.Time
	Version  string
}

// Handlers serve the web UI pages.
type Handlers struct {
	nodeID string
	repo   *repository.Service
	auth   *auth.Service
	log    *slog.Logger
	info   func(ctx context.Context) NodeInfo
	tasks  *taskmanager.Manager
	authn  gin.HandlerFunc
	pages  map[string]*template.Template

	nodes          func(ctx context.Context) ([]appcluster.NodeView, error)
	reachability   func() map[string]PeerReach
	schedulerStop  func(ctx context.Context, nodeID string) error
	schedulerStart func(ctx context.Context, nodeID string) error
	setURLOverride func(ctx context.Context, nodeID, override string) error
	reportURL      func(oid string) string
	activity       func(ctx context.Context, before int64, limit int) ([]cluster.Event, error)
	samples        func() []ClusterSample
	approvals      *approval.Service
	endSessions    func(ctx context.Context, userOID string) error
}

// Register adds the web UI to r: GET / (redirect to /ui/), /static/* (public,
// embedded) and the /ui pages; the /ui/tasks pages only when d.Tasks is set,
// the node table's fragment only when d.Nodes is set, and the scheduler
// buttons only when d.SchedulerStop and d.SchedulerStart are.
// Templates are parsed here, once; a broken embedded template panics, as it
// is a programming error caught by any test.
//
// Register also replaces r's NoRoute and NoMethod handlers: paths under /ui
// get an HTML error page, every other path keeps the API's JSON error shape.
func Register(r *gin.Engine, d Deps) {
	pages, err := parseTemplates(web.FS)
	if err != nil {
		panic(fmt.Sprintf("webui: %v", err))
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	h := &Handlers{nodeID: d.NodeID, repo: d.Repo, auth: d.Auth, log: d.Log, info: d.Info, tasks: d.Tasks,
		authn: httpapi.Authenticate(d.Auth, d.Log), pages: pages,
		nodes: d.Nodes, reachability: d.Reachability, reportURL: d.ReportDownloadURL, setURLOverride: d.SetURLOverride,
		activity: d.Activity, samples: d.Samples, approvals: d.Approvals, endSessions: d.EndSessions}
	if h.endSessions == nil {
		h.endSessions = d.Auth.EndUserSessions
	}
	if d.SchedulerStop != nil && d.SchedulerStart != nil {
		h.schedulerStop, h.schedulerStart = d.SchedulerStop, d.SchedulerStart
	}

	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/ui/") })
	h.routesStatic(r)
	r.NoRoute(h.noRoute)
	r.NoMethod(h.noMethod)

	ui := r.Group("/ui", h.authn, pageHeaders, h.recoverPage)
	ui.GET("/login", h.loginForm)
	ui.POST("/login", h.login)

	in := ui.Group("", h.requireSession, h.checkCSRF)
	routes := []func(*gin.RouterGroup){
		h.routesAuth,
		h.routesDashboard,
		h.routesUsers,
		h.routesRoles,
		h.routesReports,
		h.routesSystem,
	}
	if h.tasks != nil {
		routes = append(routes, h.routesTasks)
	}
	if h.activity != nil {
		routes = append(routes, h.routesActivity)
	}
	if h.approvals != nil {
		routes = append(routes, h.routesApprovals)
	}
	for _, add := range routes {
		add(in)
	}
}

func (h *Handlers) routesStatic(r *gin.Engine) {
	static, err := fs.Sub(web.FS, "static")
	if err != nil {
		panic(fmt.Sprintf("webui: %v", err))
	}
	files := http.StripPrefix("/static", http.FileServerFS(static))
	serve := func(c *gin.Context) {
		if strings.HasSuffix(c.Param("file"), "/") { // no directory listings
			c.String(http.StatusNotFound, "not found")
			return
		}
		c.Header("Cache-Control", "public, max-age=3600")
		c.Header("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(c.Writer, c.Request)
	}
	r.GET("/static/*file", serve)
	r.HEAD("/static/*file", serve)
}

// pageHeaders sets the headers every UI page carries: no framing, no
// third-party resources, referrers only to this site (so forms send Origin).
func pageHeaders(c *gin.Context) {
	setPageHeaders(c)
	c.Next()
}

func setPageHeaders(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	c.Header("X-Frame-Options", "DENY")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Referrer-Policy", "same-origin")
}

// recoverPage turns a panic in a page handler into the 500 page; the stack
// goes to the log only.
func (h *Handlers) recoverPage(c *gin.Context) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		if rec == http.ErrAbortHandler {
			panic(rec)
		}
		h.log.ErrorContext(c.Request.Context(), "panic in web UI handler", "method", c.Request.Method,
			"path", c.Request.URL.Path, "panic", rec, "stack", string(debug.Stack()))
		if !c.Writer.Written() {
			h.renderError(c, http.StatusInternalServerError, msgInternal)
		}
		c.Abort()
	}()
	c.Next()
}

// requireSession lets only requests with a live cookie session through;
// anyone else is sent to the login page, which brings them back afterwards.
func (h *Handlers) requireSession(c *gin.Context) {
	if _, ok := httpapi.SessionOf(c); ok && httpapi.IsCookieAuth(c) {
		c.Header("Cache-Control", "no-store")
		c.Next()
		return
	}
	if token, err := c.Cookie(httpapi.SessionCookie); err == nil && token != "" {
		httpapi.SetSessionCookie(c, "", -1) // ended or unknown session
	}
	target := "/ui/login"
	if c.Request.Method == http.MethodGet {
		target += "?next=" + url.QueryEscape(c.Request.URL.RequestURI())
	}
	c.Redirect(http.StatusSeeOther, target)
	c.Abort()
}

// checkCSRF requires the session's token in the form field "csrf" on every
// request that changes state.
func (h *Handlers) checkCSRF(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	sess, _ := httpapi.SessionOf(c)
	if !auth.CheckCSRF(sess, c.PostForm("csrf")) {
		p, _ := httpapi.PrincipalOf(c)
		h.log.WarnContext(c.Request.Context(), "web form without a valid CSRF token", "path", c.Request.URL.Path, "user", p.Name)
		h.renderError(c, http.StatusForbidden, "This form has no valid security token (it may be from another site or an old page). Go back, reload the page and try again.")
		c.Abort()
		return
	}
	c.Next()
}

// requireWrite renders the 403 page and returns false unless the principal
// may change things; every state-changing handler calls it first.
func (h *Handlers) requireWrite(c *gin.Context) bool {
	if p, _ := httpapi.PrincipalOf(c); p.CanWrite() {
		return true
	}
	h.renderError(c, http.StatusForbidden, msgForbidden)
	return false
}

func isUIPath(p string) bool { return p == "/ui" || strings.HasPrefix(p, "/ui/") }

func (h *Handlers) noRoute(c *gin.Context) {
	if !isUIPath(c.Request.URL.Path) {
		httpapi.Abort(c, http.StatusNotFound, "not-found", "no such path: "+c.Request.URL.Path)
		return
	}
	if h.authn(c); c.IsAborted() {
		return
	}
	setPageHeaders(c)
	h.renderError(c, http.StatusNotFound, "There is no page at "+c.Request.URL.Path+".")
}

func (h *Handlers) noMethod(c *gin.Context) {
	if !isUIPath(c.Request.URL.Path) {
		httpapi.Abort(c, http.StatusMethodNotAllowed, "method-not-allowed", c.Request.Method+" is not allowed here")
		return
	}
	if h.authn(c); c.IsAborted() {
		return
	}
	setPageHeaders(c)
	h.renderError(c, http.StatusMethodNotAllowed, "This page does not accept "+c.Request.Method+" requests.")
}
