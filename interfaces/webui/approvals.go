package webui

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"cadre/app/approval"
	"cadre/domain/object"
	"cadre/domain/security"
	"cadre/interfaces/httpapi"
)

// approvalsRefreshSeconds is how often the approvals list refreshes, so a
// case opened through any node shows on every approver's page.
const approvalsRefreshSeconds = 2

// approvalsDecidedShown is how many recently decided cases the page lists.
const approvalsDecidedShown = 20

// maxCommentField bounds the comment a form sends, in bytes.
const maxCommentField = 4000

// approvalsPage is the data of the "approvals" template.
type approvalsPage struct {
	Live approvalsLive
}

// approvalsLive is the part GET /ui/approvals/fragment serves again.
type approvalsLive struct {
	Open, Decided  []approval.Entry
	Err            string
	RefreshURL     string
	RefreshSeconds int
}

func (h *Handlers) routesApprovals(g *gin.RouterGroup) {
	a := g.Group("/approvals")
	a.GET("", h.showApprovals)
	a.GET("/fragment", h.approvalsFragment)
	a.POST("/:oid/approve", func(c *gin.Context) { h.decideCase(c, true) })
	a.POST("/:oid/reject", func(c *gin.Context) { h.decideCase(c, false) })
}

func (h *Handlers) showApprovals(c *gin.Context) {
	p, _ := httpapi.PrincipalOf(c)
	h.render(c, http.StatusOK, "approvals", approvalsPage{Live: h.loadApprovals(c.Request.Context(), p)})
}

func (h *Handlers) approvalsFragment(c *gin.Context) {
	p, _ := httpapi.PrincipalOf(c)
	h.renderFragment(c, "approvals", "approvals-live", approvalsPage{Live: h.loadApprovals(c.Request.Context(), p)})
}

// loadApprovals lists the cases p may decide; a failure is shown on the
// page, which keeps refreshing.
func (h *Handlers) loadApprovals(ctx context.Context, p security.Principal) approvalsLive {
	live := approvalsLive{RefreshURL: "/ui/approvals/fragment", RefreshSeconds: approvalsRefreshSeconds}
	cases, err := h.approvals.List(ctx, p, approvalsDecidedShown)
	if err != nil {
		h.log.WarnContext(ctx, "list approval cases", "user", p.Name, "err", err)
		live.Err = "The approval cases cannot be read right now; this list tries again every few seconds."
		return live
	}
	live.Open, live.Decided = cases.Open, cases.Decided
	return live
}

// decideCase approves or rejects a case from the page's form. Anyone logged
// in may try: the approval service lets only the role's approvers and
// superusers decide.
func (h *Handlers) decideCase(c *gin.Context, approve bool) {
	ctx := c.Request.Context()
	p, _ := httpapi.PrincipalOf(c)
	comment := c.PostForm("comment")
	if len(comment) > maxCommentField {
		h.renderError(c, http.StatusBadRequest, "The comment is too long; keep it under 4000 characters.")
		return
	}
	_, err := h.approvals.Decide(ctx, p, approval.Decide{Case: c.Param("oid"), Approve: approve, Comment: comment})
	switch {
	case err == nil:
		flash := "case-rejected"
		if approve {
			flash = "case-approved"
		}
		c.Redirect(http.StatusSeeOther, "/ui/approvals?ok="+flash)
	case errors.Is(err, object.ErrCaseDecided):
		h.renderAlert(c, http.StatusConflict, "approvals", "Someone else decided this case first; the list below shows their decision.",
			approvalsPage{Live: h.loadApprovals(ctx, p)})
	default:
		h.fail(c, err)
	}
}
