package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	appcluster "cadre/app/cluster"
	"cadre/domain/cluster"
	"cadre/domain/task"
)

func init() {
	RegisterError(cluster.ErrNotFound, http.StatusNotFound, "node-not-found")
	RegisterError(cluster.ErrBadURL, http.StatusUnprocessableEntity, "bad-url-override")
	// A call forwarded to another node (a scheduler stop or start) that
	// failed there: the gateway's answers, with the reason. ErrTimeout is
	// an ErrUnreachable, so it comes first.
	RegisterError(cluster.ErrTimeout, http.StatusGatewayTimeout, "node-timeout")
	RegisterError(cluster.ErrUnreachable, http.StatusBadGateway, "node-unreachable")
	RegisterError(cluster.ErrBadAnswer, http.StatusBadGateway, "node-bad-answer")
}

// NodeDirectory lists the nodes and switches their schedulers.
type NodeDirectory interface {
	Nodes(ctx context.Context) ([]appcluster.NodeView, error)
	// SchedulerStop and SchedulerStart act on the named node, here or through a peer call.
	SchedulerStop(ctx context.Context, nodeID string) error
	SchedulerStart(ctx context.Context, nodeID string) error
	// SetURLOverride sets or ("" ) clears the named node's urlOverride.
	SetURLOverride(ctx context.Context, nodeID, override string) error
}

// NodeJSON is the API form of a node (DESIGN §8).
type NodeJSON struct {
	NodeID           string    `json:"nodeId"`
	URL              string    `json:"url"`
	URLOverride      string    `json:"urlOverride"`
	NodeTimeoutMs    int64     `json:"nodeTimeoutMs"`
	Hostname         string    `json:"hostname"`
	HTTPPort         int       `json:"httpPort"`
	OperationalState string    `json:"operationalState"`
	SchedulerState   string    `json:"schedulerState"`
	Clustered        bool      `json:"clustered"`
	Version          string    `json:"version"`
	SchemaVersion    int       `json:"schemaVersion"`
	LastCheckInTime  time.Time `json:"lastCheckInTime"`
	CheckInAgeMs     int64     `json:"checkInAgeMs"`
	Alive            bool      `json:"alive"`
	StartedAt        time.Time `json:"startedAt"`
	ExecutionGroups  []string  `json:"executionGroups"`
	// ExecutionLimits are the node's taskExecutionLimitations with the
	// tasks running there counted against them.
	ExecutionLimits []LimitJSON `json:"executionLimits"`
	Errors          []string    `json:"errors"`
	Warnings        []string    `json:"warnings"`
}

// NodeToJSON converts a node view for the API.
func NodeToJSON(v appcluster.NodeView) NodeJSON {
	j := NodeJSON{NodeID: v.ID, URL: v.URL, URLOverride: v.URLOverride, NodeTimeoutMs: v.Timeout.Milliseconds(), Hostname: v.Hostname, HTTPPort: v.HTTPPort, OperationalState: string(v.OperationalState),
		SchedulerState: string(v.SchedulerState), Clustered: v.Clustered, Version: v.Version, SchemaVersion: v.SchemaVersion,
		LastCheckInTime: v.LastCheckIn, CheckInAgeMs: v.CheckInAge.Milliseconds(), Alive: v.Alive, StartedAt: v.StartedAt,
		ExecutionGroups: v.ExecutionGroups, Errors: v.Errors, Warnings: v.Warnings}
	if j.Errors == nil {
		j.Errors = []string{}
	}
	if j.Warnings == nil {
		j.Warnings = []string{}
	}
	if j.ExecutionGroups == nil {
		j.ExecutionGroups = []string{}
	}
	j.ExecutionLimits = make([]LimitJSON, len(v.Limits))
	for i, l := range v.Limits {
		j.ExecutionLimits[i] = LimitJSON{Group: l.Group, Running: l.Running}
		if l.Limit != task.Unlimited {
			j.ExecutionLimits[i].Limit = &l.Limit
		}
	}
	return j
}

// LimitJSON is one execution limit of a node: its group ("_" no group, "#"
// the node's own id, "*" any other), the limit (null = unlimited) and the
// tasks of those groups running on the node now.
type LimitJSON struct {
	Group   string `json:"group"`
	Limit   *int   `json:"limit"`
	Running int64  `json:"running"`
}

func (a *API) registerNodes(g *gin.RouterGroup) {
	g.GET("/nodes", a.listNodes)
	g.POST("/nodes/:id/scheduler/stop", a.schedulerAction(a.d.Nodes.SchedulerStop))
	g.POST("/nodes/:id/scheduler/start", a.schedulerAction(a.d.Nodes.SchedulerStart))
	g.PATCH("/nodes/:id", a.modifyNode)
}

// nodePatch is the body of PATCH /api/v1/nodes/{id}.
type nodePatch struct {
	// URLOverride is the node's intra-cluster URL override; "" or null clears it.
	URLOverride json.RawMessage `json:"urlOverride"`
}

func (a *API) modifyNode(c *gin.Context) {
	if !a.canWrite(c) {
		return
	}
	body, ok := ReadBody(c)
	if !ok {
		return
	}
	var patch nodePatch
	if err := DecodeStrict(body, &patch); err != nil {
		Abort(c, http.StatusBadRequest, "bad-json", err.Error())
		return
	}
	var override *string
	if len(patch.URLOverride) == 0 || json.Unmarshal(patch.URLOverride, &override) != nil {
		Abort(c, http.StatusBadRequest, "bad-json", `send {"urlOverride": "https://host:port/path"}, or "" or null to clear it`)
		return
	}
	if override == nil {
		override = new(string)
	}
	if err := a.d.Nodes.SetURLOverride(c.Request.Context(), c.Param("id"), strings.TrimSpace(*override)); err != nil {
		Fail(c, a.log, err)
		return
	}
	a.answerNode(c, c.Param("id"))
}

// answerNode answers with node id after a change: 200 with the node, or 204
// when it is no longer listed.
func (a *API) answerNode(c *gin.Context, id string) {
	views, err := a.d.Nodes.Nodes(c.Request.Context())
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	for _, v := range views {
		if v.ID == id {
			c.JSON(http.StatusOK, NodeToJSON(v))
			return
		}
	}
	c.Status(http.StatusNoContent)
}

func (a *API) listNodes(c *gin.Context) {
	if !a.canRead(c) {
		return
	}
	views, err := a.d.Nodes.Nodes(c.Request.Context())
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	items := make([]NodeJSON, 0, len(views))
	for _, v := range views {
		items = append(items, NodeToJSON(v))
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": len(items), "servedBy": a.d.NodeID})
}

func (a *API) schedulerAction(action func(ctx context.Context, nodeID string) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !a.canWrite(c) {
			return
		}
		if err := action(c.Request.Context(), c.Param("id")); err != nil {
			Fail(c, a.log, err)
			return
		}
		a.answerNode(c, c.Param("id"))
	}
}
