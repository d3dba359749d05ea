package webui

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"cadre/domain/cluster"
)

// activityLimit is how many of the newest events the activity page shows.
const activityLimit = 200

// activityRefreshSeconds is how often the activity list refreshes.
const activityRefreshSeconds = 3

// activityPage is the data of the "activity" template.
type activityPage struct {
	Live activityLive
}

// activityLive is the part GET /ui/activity/fragment serves again.
type activityLive struct {
	Events         []activityRow
	Err            string
	RefreshURL     string
	RefreshSeconds int
}

type activityRow struct {
	cluster.Event
	// Class is the row's look: "bad" (death, fencing, conformance), "ok"
	// (joined, returned) or "" (the rest).
	Class string
	Label string
}

func (h *Handlers) routesActivity(g *gin.RouterGroup) {
	a := g.Group("/activity", h.requireRead)
	a.GET("", h.showActivity)
	a.GET("/fragment", h.activityFragment)
}

func (h *Handlers) showActivity(c *gin.Context) {
	h.render(c, http.StatusOK, "activity", activityPage{Live: h.loadActivity(c.Request.Context())})
}

func (h *Handlers) activityFragment(c *gin.Context) {
	h.renderFragment(c, "activity", "activity-live", activityPage{Live: h.loadActivity(c.Request.Context())})
}

// loadActivity reads the newest events; a failure is shown on the page,
// which keeps refreshing.
func (h *Handlers) loadActivity(ctx context.Context) activityLive {
	live := activityLive{RefreshURL: "/ui/activity/fragment", RefreshSeconds: activityRefreshSeconds}
	events, err := h.activity(ctx, activityLimit)
	if err != nil {
		h.log.WarnContext(ctx, "list cluster events", "err", err)
		live.Err = "The cluster's activity cannot be read right now; this list tries again every few seconds."
		return live
	}
	for _, e := range events {
		live.Events = append(live.Events, activityRow{Event: e, Class: eventClass(e.Kind), Label: eventLabel(e.Kind)})
	}
	return live
}

func eventClass(k cluster.EventKind) string {
	switch k {
	case cluster.EventNodeDead, cluster.EventBucketFenced, cluster.EventConformance:
		return "bad"
	case cluster.EventNodeJoined, cluster.EventNodeReturned, cluster.EventSchedulerStarted:
		return "ok"
	}
	return ""
}

func eventLabel(k cluster.EventKind) string {
	switch k {
	case cluster.EventNodeJoined:
		return "Node joined"
	case cluster.EventNodeLeft:
		return "Node left"
	case cluster.EventNodeDead:
		return "Node declared dead"
	case cluster.EventNodeReturned:
		return "Dead node returned"
	case cluster.EventBucketFenced:
		return "Bucket fenced"
	case cluster.EventSchedulerStopped:
		return "Scheduler stopped"
	case cluster.EventSchedulerStarted:
		return "Scheduler started"
	case cluster.EventConformance:
		return "Conformance error"
	}
	return string(k)
}
