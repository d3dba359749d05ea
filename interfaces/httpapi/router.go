// Package httpapi is the REST API of DESIGN §8 on Gin, and the middleware the
// web UI shares with it.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/app/approval"
	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/app/taskmanager"
)

// Deps are the application services the API drives.
type Deps struct {
	NodeID string
	// Consistency runs before every handler (the node's read-your-writes
	// across nodes, docs/consistency.md); nil: none.
	Consistency gin.HandlerFunc
	// InstanceID is new at every start; /healthz shows it so a restarted node
	// can tell its previous instance is gone.
	InstanceID string
	// Nodes lists nodes and switches schedulers; nil leaves the node endpoints out.
	Nodes NodeDirectory
	Repo  *repository.Service
	Auth  *auth.Service
	// Tasks is the task manager; nil leaves the task endpoints out.
	Tasks *taskmanager.Manager
	// Reports opens local report files; Peers (nil on a single node) reaches other nodes.
	Reports ReportFiles
	Peers   ReportPeers
	// ReportDownload is "redirect" (default) or "proxy" (reports/download).
	ReportDownload string
	// Ready reports whether the node can serve (database reachable, node registered).
	Ready func(ctx context.Context) error
	Log   *slog.Logger
	// TrustedProxies are the addresses or CIDRs (a load balancer) whose
	// X-Forwarded-For names the client, for login throttling per client;
	// none by default, so the client is the TCP peer.
	TrustedProxies []string
	// OpenAPIAccess is security/openapiAccess: "open" (default) or "login".
	OpenAPIAccess string
	// Approvals decides approval cases; nil leaves the case endpoints out.
	Approvals *approval.Service
	// EndSessions ends every session of a user on every node ("log out
	// everywhere"); nil ends them in the repository and on this node only.
	EndSessions func(ctx context.Context, userOID string) error
}

// API holds the handlers.
type API struct {
	d   Deps
	log *slog.Logger
}

// NewRouter builds the Gin engine with health, session and object endpoints.
// The returned group is the authenticated /api/v1 group, for more routes.
func NewRouter(d Deps) (*gin.Engine, *gin.RouterGroup) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		d.Log.Error("security/trustedProxies ignored: the client is the TCP peer", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.ContextWithFallback = true
	a := &API{d: d, log: d.Log}
	r.Use(Recover(d.Log), ServedBy(d.NodeID), LimitBody(), RejectNUL())
	if d.Consistency != nil {
		r.Use(d.Consistency)
	}
	r.NoRoute(func(c *gin.Context) { Abort(c, http.StatusNotFound, "not-found", "no such path: "+c.Request.URL.Path) })
	r.NoMethod(func(c *gin.Context) {
		Abort(c, http.StatusMethodNotAllowed, "method-not-allowed", c.Request.Method+" is not allowed here")
	})

	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok", "node": d.NodeID, "instance": d.InstanceID})
	})
	r.GET("/readyz", a.readyz)
	RegisterOpenAPI(r, Guard(d.OpenAPIAccess, "", "security/openapiAccess", d.Auth, d.Log))

	v1 := r.Group("/api/v1", RefuseCrossSite(d.Log), Authenticate(d.Auth, d.Log))
	v1.POST("/session", a.login)
	v1.DELETE("/session", a.logout)

	authed := v1.Group("", RequireAuth(d.Log))
	authed.GET("/objects/:type", a.searchObjects)
	authed.POST("/objects/:type", a.addObject)
	authed.GET("/objects/:type/:oid", a.getObject)
	authed.PATCH("/objects/:type/:oid", a.modifyObject)
	authed.DELETE("/objects/:type/:oid", a.deleteObject)
	authed.DELETE("/objects/:type/:oid/sessions", a.endUserSessions)
	if d.Reports != nil {
		authed.GET("/reports/:oid/download", a.downloadReport)
	}
	if d.Nodes != nil {
		a.registerNodes(authed)
	}
	if d.Tasks != nil {
		a.registerTasks(authed)
	}
	if d.Approvals != nil {
		a.registerCases(authed)
	}
	return r, authed
}

// readyz answers load balancers. Why a node is not ready is told in full
// only to a logged-in caller: the database error names its user, database,
// host and port. Anyone else gets the reason's first words ("database
// unreachable", "starting", "not registered").
func (a *API) readyz(c *gin.Context) {
	err := a.d.Ready(c.Request.Context())
	if err == nil {
		c.JSON(http.StatusOK, gin.H{"status": "ready", "node": a.d.NodeID})
		return
	}
	reason := err.Error()
	if !a.loggedIn(c) {
		reason, _, _ = strings.Cut(reason, ":")
	}
	c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready", "node": a.d.NodeID, "reason": reason})
}

// loggedIn reports whether the request carries valid Basic credentials or a
// session cookie, without answering for it: a failed check (wrong password,
// database down) makes it anonymous, not a 401.
func (a *API) loggedIn(c *gin.Context) bool {
	ctx := c.Request.Context()
	if user, pass, ok := c.Request.BasicAuth(); ok {
		_, err := a.d.Auth.Basic(ctx, c.ClientIP(), user, pass)
		return err == nil
	}
	if token, err := c.Cookie(SessionCookie); err == nil && token != "" {
		_, _, err := a.d.Auth.FromSession(ctx, token)
		return err == nil
	}
	return false
}
