package httpapi

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/domain/object"
)

// ReportFiles opens report files on this node's disk.
type ReportFiles interface {
	Open(fileName string) (io.ReadCloser, int64, error)
}

// ReportPeers finds and reaches the node that holds a report file.
type ReportPeers interface {
	// NodeURL is the intra-cluster URL of a node and whether it is up.
	NodeURL(ctx context.Context, nodeID string) (url string, up bool, err error)
	// FetchReport streams a report file from its node over the signed peer call.
	FetchReport(ctx context.Context, nodeID, reportOID string) (io.ReadCloser, int64, error)
}

// ErrNodeDown means the node holding a resource is not up.
var ErrNodeDown = errors.New("the node that holds the file is down")

func init() {
	RegisterError(ErrNodeDown, http.StatusServiceUnavailable, "node-down")
}

func (a *API) downloadReport(c *gin.Context) {
	p, _ := PrincipalOf(c)
	ctx := c.Request.Context()
	o, err := a.d.Repo.Get(ctx, p, object.TypeReport, c.Param("oid"))
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	r := o.(*object.Report)
	if r.Node == a.d.NodeID || a.d.Peers == nil {
		a.serveLocalReport(c, r)
		return
	}
	url, up, err := a.d.Peers.NodeURL(ctx, r.Node)
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	if !up || url == "" {
		Abort(c, http.StatusServiceUnavailable, "node-down", "report file is on node "+r.Node+", which is down or has no URL; try again when it is back")
		return
	}
	if a.d.ReportDownload != "proxy" {
		c.Redirect(http.StatusTemporaryRedirect, strings.TrimSuffix(url, "/")+"/api/v1/reports/"+r.OID+"/download")
		return
	}
	body, size, err := a.d.Peers.FetchReport(ctx, r.Node, r.OID)
	if err != nil {
		a.log.WarnContext(ctx, "proxy report download", "report", r.OID, "node", r.Node, "err", err)
		Abort(c, http.StatusServiceUnavailable, "node-down", "report file is on node "+r.Node+", which did not answer: "+err.Error())
		return
	}
	defer body.Close()
	sendReport(c, r, body, size)
}

func (a *API) serveLocalReport(c *gin.Context, r *object.Report) {
	f, size, err := a.d.Reports.Open(r.FileName)
	if errors.Is(err, fs.ErrNotExist) {
		Abort(c, http.StatusNotFound, "file-not-found", "the report file "+r.FileName+" is not on node "+a.d.NodeID)
		return
	}
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	defer f.Close()
	sendReport(c, r, f, size)
}

func sendReport(c *gin.Context, r *object.Report, body io.Reader, size int64) {
	c.Header("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(r.FileName, `"`, "")+`"`)
	c.Header("X-Report-Node", r.Node)
	if size >= 0 {
		c.Header("Content-Length", strconv.FormatInt(size, 10))
	}
	c.Status(http.StatusOK)
	c.Header("Content-Type", "text/csv; charset=utf-8")
	_, _ = io.Copy(c.Writer, body)
}
