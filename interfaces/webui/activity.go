package webui

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"cadre/domain/cluster"
	"cadre/interfaces/httpapi"
)

// activityLimit is how many events a page of the activity list shows.
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
	// NewestURL leads back to the newest events from an older page;
	// OlderURL to the events before the last one shown. Empty when there
	// is none.
	NewestURL string
	OlderURL  string
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
	h.render(c, http.StatusOK, "activity", activityPage{Live: h.loadActivity(c.Request.Context(), c.Query("after"))})
}

func (h *Handlers) activityFragment(c *gin.Context) {
	h.renderFragment(c, "activity", "activity-live", activityPage{Live: h.loadActivity(c.Request.Context(), c.Query("after"))})
}

// loadActivity reads a page of events, newest first: the newest, or those
// before the event of the cursor after (an "Older events" link; one that is
// not a cursor shows the newest). It is a keyset page on the event ID, so an
// old page costs what the newest does. A failure is shown on the page,
// which keeps refreshing.
func (h *Handlers) loadActivity(ctx context.Context, after string) activityLive {
	var before int64
	if key, err := httpapi.DecodeCursor(after); err == nil && key != "" {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil && id > 0 {
			before = id
		}
	}
	live := activityLive{RefreshURL: "/ui/activity/fragment", RefreshSeconds: activityRefreshSeconds}
	if before > 0 {
		cursor := url.Values{"after": {httpapi.EncodeCursor(strconv.FormatInt(before, 10))}}.Encode()
		live.RefreshURL += "?" + cursor
		live.NewestURL = "/ui/activity"
	}
	events, err := h.activity(ctx, before, activityLimit+1)
	if err != nil {
		h.log.WarnContext(ctx, "list cluster events", "err", err)
		live.Err = "The cluster's activity cannot be read right now; this list tries again every few seconds."
		return live
	}
	if len(events) > activityLimit {
		events = events[:activityLimit]
		last := strconv.FormatInt(events[len(events)-1].ID, 10)
		live.OlderURL = "/ui/activity?" + url.Values{"after": {httpapi.EncodeCursor(last)}}.Encode()
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
	case cluster.EventRepair:
		return "Repaired"
	case cluster.EventCaughtUp:
		return "Caught up from the change log"
	}
	return string(k)
}
