package webui

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"cadre/domain/object"
	"cadre/interfaces/httpapi"
)

// reportsPerPage is the length of one page of the reports list.
const reportsPerPage = 20

// reportHandler is the task handler that writes reports.
const reportHandler = "report"

func (h *Handlers) routesReports(g *gin.RouterGroup) {
	g.GET("/reports", h.listReports)
}

// reportsPage is the data of the "reports" template.
type reportsPage struct {
	Query   string
	Reports []reportRow
	Pager   ListPager
	// Downloads is set when the rows link to their files.
	Downloads bool
	// CanRun is set when this node can start a report task (the "Run a
	// report" form posts to the new-task handler).
	CanRun bool
	// TaskLinks is set when the task pages exist.
	TaskLinks bool
}

// reportRow is one report in the list.
type reportRow struct {
	*object.Report
	DownloadURL string
}

func (h *Handlers) listReports(c *gin.Context) {
	q, reports, pager, ok := searchList[*object.Report](h, c, object.TypeReport, reportsPerPage)
	if !ok {
		return
	}
	p, _ := httpapi.PrincipalOf(c)
	data := reportsPage{Query: q, Pager: pager, Downloads: h.reportURL != nil, TaskLinks: h.tasks != nil,
		CanRun: h.tasks != nil && p.CanWrite() && slices.Contains(h.tasks.Handlers(), reportHandler)}
	for _, r := range reports {
		row := reportRow{Report: r}
		if h.reportURL != nil {
			row.DownloadURL = h.reportURL(row.OID)
		}
		data.Reports = append(data.Reports, row)
	}
	h.render(c, http.StatusOK, "reports", data)
}
