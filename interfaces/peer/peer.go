// Package peer serves the intra-cluster endpoints of DESIGN §6 under
// peer.BasePath, every one behind the signature Verifier.
package peer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	peerclient "cadre/infrastructure/peer"
	"cadre/interfaces/httpapi"
)

// Handlers are the local actions peers ask this node for.
type Handlers interface {
	// InvalidateCache drops cached objects: objType "" means every cache,
	// oid "" every object of objType. seq is the change's log entry (0: none).
	InvalidateCache(ctx context.Context, objType, oid string, seq int64)
	// InvalidateSessions drops the cached principals of a user's sessions,
	// or every cached principal when userOID is "".
	InvalidateSessions(ctx context.Context, userOID string, seq int64)
	// SchedulerStop pauses the local scheduler.
	SchedulerStop(ctx context.Context) error
	// SchedulerStart resumes the local scheduler.
	SchedulerStart(ctx context.Context) error
	// StopTask stops a task if it runs here and reports whether it did.
	StopTask(ctx context.Context, oid string) bool
	// OpenReport opens a local report file with its size (-1 if unknown);
	// fs.ErrNotExist when it is not here.
	OpenReport(ctx context.Context, oid string) (io.ReadCloser, int64, error)
	// Status describes this node, as JSON.
	Status(ctx context.Context) any
}

// Register adds the endpoints under peerclient.BasePath:
//
//	POST /cache/invalidate    {"type","oid"} → 204
//	POST /sessions/invalidate {"userOid"|"all"} → 204
//	POST /scheduler/stop                     → 204
//	POST /scheduler/start                    → 204
//	POST /tasks/{oid}/stop                   → 200 {"stopped": bool}
//	GET  /reports/{oid}/file                 → 200 octet-stream, 404 when not here
//	GET  /status                             → 200 JSON
//
// Bodies are decoded leniently (unknown fields allowed) so nodes of adjacent
// versions can talk during a rolling upgrade; malformed JSON is 400.
func Register(r *gin.Engine, v *peerclient.Verifier, h Handlers) {
	s := server{h: h}
	g := r.Group(peerclient.BasePath, Middleware(v))
	g.POST("/cache/invalidate", s.invalidateCache)
	g.POST("/sessions/invalidate", s.invalidateSessions)
	g.POST("/scheduler/stop", s.scheduler(h.SchedulerStop))
	g.POST("/scheduler/start", s.scheduler(h.SchedulerStart))
	g.POST("/tasks/:oid/stop", s.stopTask)
	g.GET("/reports/:oid/file", s.reportFile)
	g.GET("/status", s.status)
}

type server struct {
	h Handlers
}

// callerKey is the Gin context key holding the verified caller's node id.
const callerKey = "cadre.peer"

// Middleware lets through only calls the Verifier accepts, with the caller's
// node id for Caller; a rejected call gets the verifier's status and
// {"error","message"}, and a 401 also a WWW-Authenticate challenge.
func Middleware(v *peerclient.Verifier) gin.HandlerFunc {
	return func(c *gin.Context) {
		node, rej := v.Verify(c.Request)
		if rej != nil {
			if rej.Status == http.StatusUnauthorized {
				c.Header("WWW-Authenticate", peerclient.Challenge)
			}
			c.AbortWithStatusJSON(rej.Status, gin.H{"error": rej.Slug, "message": rej.Message})
			return
		}
		c.Set(callerKey, node)
		c.Next()
	}
}

// Caller is the node id Middleware authenticated for this request, if any.
func Caller(c *gin.Context) (string, bool) {
	id := c.GetString(callerKey)
	return id, id != ""
}

func (s server) invalidateCache(c *gin.Context) {
	var in peerclient.CacheInvalidation
	if !bind(c, &in) {
		return
	}
	s.h.InvalidateCache(c.Request.Context(), in.Type, in.OID, in.Seq)
	c.Status(http.StatusNoContent)
}

func (s server) invalidateSessions(c *gin.Context) {
	var in peerclient.SessionInvalidation
	if !bind(c, &in) {
		return
	}
	if (in.UserOID == "") != in.All {
		httpapi.Abort(c, http.StatusBadRequest, "bad-request", "give either userOid or all")
		return
	}
	s.h.InvalidateSessions(c.Request.Context(), in.UserOID, in.Seq)
	c.Status(http.StatusNoContent)
}

func (s server) scheduler(act func(context.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := act(c.Request.Context()); err != nil {
			fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func (s server) stopTask(c *gin.Context) {
	oid, ok := param(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, peerclient.TaskStopped{Stopped: s.h.StopTask(c.Request.Context(), oid)})
}

func (s server) reportFile(c *gin.Context) {
	oid, ok := param(c)
	if !ok {
		return
	}
	f, size, err := s.h.OpenReport(c.Request.Context(), oid)
	if errors.Is(err, fs.ErrNotExist) {
		httpapi.Abort(c, http.StatusNotFound, "file-not-found", "report "+oid+" has no file on this node")
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	defer f.Close()
	c.DataFromReader(http.StatusOK, size, "application/octet-stream", f, nil)
}

func (s server) status(c *gin.Context) {
	c.JSON(http.StatusOK, s.h.Status(c.Request.Context()))
}

// bind decodes a JSON body; unknown fields are allowed, anything else wrong is 400.
func bind(c *gin.Context, v any) bool {
	body, ok := httpapi.ReadBody(c)
	if !ok {
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		httpapi.Abort(c, http.StatusBadRequest, "bad-json", "request body is empty; a JSON object is expected")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		httpapi.Abort(c, http.StatusBadRequest, "bad-json", "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// param is the :oid path parameter, refused when it could name another file.
func param(c *gin.Context) (string, bool) {
	oid := c.Param("oid")
	if oid == "" || oid == "." || oid == ".." || strings.ContainsAny(oid, `/\`) {
		httpapi.Abort(c, http.StatusBadRequest, "bad-request", "invalid oid")
		return "", false
	}
	return oid, true
}

// fail answers an error from a handler. The caller is an authenticated node,
// so the message is shown to help whoever reads its log.
func fail(c *gin.Context, err error) {
	status, slug := httpapi.StatusOf(err)
	httpapi.Abort(c, status, slug, err.Error())
}
