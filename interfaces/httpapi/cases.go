package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"cadre/app/approval"
	"cadre/app/repository"
	"cadre/domain/object"
)

func init() {
	RegisterError(object.ErrCaseDecided, http.StatusConflict, "case-decided")
	RegisterError(approval.ErrCaseObsolete, http.StatusConflict, "case-obsolete")
}

func (a *API) registerCases(g *gin.RouterGroup) {
	g.POST("/cases/:oid/approve", func(c *gin.Context) { a.decideCase(c, true) })
	g.POST("/cases/:oid/reject", func(c *gin.Context) { a.decideCase(c, false) })
}

// caseDecision is the body of approve and reject; it may be empty.
type caseDecision struct {
	Comment string `json:"comment"`
}

func (a *API) decideCase(c *gin.Context, approve bool) {
	body, ok := ReadBody(c)
	if !ok {
		return
	}
	var in caseDecision
	if len(body) > 0 {
		if err := DecodeStrict(body, &in); err != nil {
			Abort(c, http.StatusBadRequest, "bad-json", err.Error())
			return
		}
	}
	p, _ := PrincipalOf(c)
	decided, err := a.d.Approvals.Decide(c.Request.Context(), p, approval.Decide{Case: c.Param("oid"), Approve: approve, Comment: in.Comment})
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	c.Header("ETag", etag(decided))
	c.JSON(http.StatusOK, ObjectJSON(decided))
}

// writtenJSON answers a user write: 202 with the cases opened when roles
// were held for approval (the first as "case", all as "cases", and the
// stored object as "object"), the plain object with status otherwise.
func writtenJSON(c *gin.Context, w repository.Written, status int) {
	c.Header("ETag", etag(w.Object))
	if len(w.Cases) == 0 {
		c.JSON(status, ObjectJSON(w.Object))
		return
	}
	oids := make([]string, len(w.Cases))
	for i, k := range w.Cases {
		oids[i] = k.OID
	}
	c.JSON(http.StatusAccepted, gin.H{"case": oids[0], "cases": oids, "object": ObjectJSON(w.Object)})
}
