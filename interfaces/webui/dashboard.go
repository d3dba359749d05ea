package webui

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"cadre/domain/object"
	"cadre/domain/security"
	"cadre/interfaces/httpapi"
)

func (h *Handlers) routesDashboard(g *gin.RouterGroup) {
	g.GET("/", h.dashboard)
}

// dashboardPage is the data of the "dashboard" template.
type dashboardPage struct {
	Info   NodeInfo
	Uptime string
	Users  int64
	Roles  int64
}

func (h *Handlers) dashboard(c *gin.Context) {
	ctx := c.Request.Context()
	p, _ := httpapi.PrincipalOf(c)
	data := dashboardPage{Info: NodeInfo{NodeID: h.nodeID}}
	if h.info != nil {
		data.Info = h.info(ctx)
	}
	if !data.Info.Started.IsZero() {
		data.Uptime = formatUptime(time.Since(data.Info.Started))
	}
	var err error
	if data.Users, err = h.count(ctx, p, object.TypeUser); err != nil {
		h.fail(c, err)
		return
	}
	if data.Roles, err = h.count(ctx, p, object.TypeRole); err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "dashboard", data)
}

// count returns how many objects of the type the principal can see.
func (h *Handlers) count(ctx context.Context, p security.Principal, t object.Type) (int64, error) {
	page, err := h.repo.Search(ctx, p, object.Query{Type: t, Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", t, err)
	}
	return page.Total, nil
}

// formatUptime writes a duration as its two largest units: "3d 4h", "4h 5m", "5m 10s", "10s".
func formatUptime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days, hours, mins, secs := s/86400, s/3600%24, s/60%60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm %ds", mins, secs)
	}
	return fmt.Sprintf("%ds", secs)
}
