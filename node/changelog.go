package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/domain/cluster"
	"cadre/interfaces/httpapi"
)

// The change log (issue 21, docs/consistency.md): every change other nodes
// must act on is a row written in the change's own transaction; every
// clustered node reads the rows it has not applied every logTick, whether
// or not the signed push reached it.
const (
	// logTick is how often a node reads the change log: the bound on how
	// long a node that missed a push keeps a stale object or principal.
	logTick = 250 * time.Millisecond
	// logRetention is how long entries are kept; a node that could not read
	// the log for half of it drops every cache and principal.
	logRetention  = 10 * time.Minute
	logPruneEvery = time.Minute
	// caughtUpEvery limits the "caught up from the change log" activity to
	// one event per node in this time.
	caughtUpEvery = 30 * time.Second

	// ChangeHeader carries the change log seq of a write's last change on
	// its response; a request that sends it back in AfterChangeHeader (or
	// the web UI's changeCookie) is served once this node has applied that
	// change, waiting at most afterChangeWait (then served anyway).
	ChangeHeader      = "X-Cadre-Change"
	AfterChangeHeader = "X-Cadre-After-Change"
	changeCookie      = "cadre_change"
	afterChangeWait   = time.Second
)

// buildFollower makes the node's change log follower (started by Start on
// a clustered node) and makes the repository log changes.
func (n *Node) buildFollower() {
	n.follower = &repository.Follower{
		Reader: n.Store,
		Self:   n.Config.NodeID,
		Apply: func(e repository.LogEntry) {
			if e.Effect == repository.EffectCache {
				n.Cache.Invalidate(e.Type, e.OID)
				return
			}
			n.Auth.ApplyLogged(e)
		},
		DropAll: func() {
			n.Cache.Invalidate("", "")
			n.Auth.DropPrincipals()
		},
		Lag:     n.Metrics.InvalidationLag,
		Missed:  n.caughtUp.add,
		MaxAway: logRetention / 2,
	}
	n.caughtUp.n = n
	if n.Config.TaskManager.Clustered {
		n.Store.SetChangeLog(n.Config.NodeID, auth.LogEffect)
	}
}

// followLog starts the follower at the log's head and runs its tick, and
// now and then prunes old entries, until the node stops.
func (n *Node) followLog(ctx context.Context) error {
	if err := n.follower.Start(ctx); err != nil {
		return fmt.Errorf("read the change log head: %w", err)
	}
	n.follower.DropAll() // anything cached while the node was built predates the head
	n.life.Go(func(ctx context.Context) {
		t := time.NewTicker(logTick)
		defer t.Stop()
		nextPrune := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := n.follower.Tick(tctx)
			cancel()
			switch {
			case errors.Is(err, repository.ErrLogGap):
				n.Log.Warn("change log: "+err.Error(), "err", err)
			case err != nil && ctx.Err() == nil:
				n.Log.Debug("change log tick failed", "err", err)
			}
			if time.Now().After(nextPrune) {
				nextPrune = time.Now().Add(logPruneEvery)
				n.pruneLog(ctx)
			}
		}
	})
	return nil
}

func (n *Node) pruneLog(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now, err := n.Store.Now(ctx)
	if err == nil {
		_, err = n.Store.ChangeLogPrune(ctx, now.Add(-logRetention))
	}
	if err != nil && ctx.Err() == nil {
		n.Log.Warn("prune the change log", "err", err)
	}
}

// caughtUp records, as cluster activity, that this node applied changes
// from the log whose push never came: at most one event per caughtUpEvery,
// counting the changes since the last one.
type caughtUp struct {
	n *Node

	mu    sync.Mutex
	count int
	next  time.Time
}

func (c *caughtUp) add(missed int) {
	c.mu.Lock()
	c.count += missed
	now := time.Now()
	if now.Before(c.next) {
		c.mu.Unlock()
		return
	}
	count := c.count
	c.count, c.next = 0, now.Add(caughtUpEvery)
	c.mu.Unlock()
	id := c.n.Config.NodeID
	c.n.Log.Warn("applied changes from the change log whose push did not arrive", "changes", count)
	c.n.life.Go(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		e := cluster.Event{Kind: cluster.EventCaughtUp, Node: id, Actor: id,
			Message: fmt.Sprintf("applied %d change(s) from the change log whose push from the changing node did not arrive", count)}
		if err := c.n.Store.EventsAdd(ctx, e); err != nil {
			c.n.Log.Warn("record cluster event", "kind", e.Kind, "err", err)
		}
	})
}

// consistency is the read-your-writes middleware: it holds a request that
// names a change (AfterChangeHeader or the web UI's cookie) until this node
// applied it, at most afterChangeWait, and names the last change a request
// made in ChangeHeader (and, for a browser session, in the cookie).
func (n *Node) consistency() gin.HandlerFunc {
	return func(c *gin.Context) {
		after := c.GetHeader(AfterChangeHeader)
		if after == "" {
			after, _ = c.Cookie(changeCookie)
		}
		if seq, err := strconv.ParseInt(after, 10, 64); err == nil && seq > 0 {
			ctx, cancel := context.WithTimeout(c.Request.Context(), afterChangeWait)
			if !n.follower.Wait(ctx, seq) {
				n.Log.Debug("served before the change it follows was applied", "seq", seq, "path", c.Request.URL.Path)
			}
			cancel()
		}
		ctx, seqs := repository.WithChangeSeqs(c.Request.Context())
		c.Request = c.Request.WithContext(ctx)
		_, err := c.Cookie(httpapi.SessionCookie)
		w := &changeWriter{ResponseWriter: c.Writer, c: c, seqs: seqs, browser: err == nil}
		c.Writer = w
		c.Next()
		w.stamp()
	}
}

// changeWriter adds the change headers before the first byte of the response.
type changeWriter struct {
	gin.ResponseWriter
	c       *gin.Context
	seqs    *repository.ChangeSeqs
	browser bool
	stamped bool
}

func (w *changeWriter) stamp() {
	if w.stamped || w.ResponseWriter.Written() {
		return
	}
	w.stamped = true
	seq := w.seqs.Max()
	if seq == 0 {
		return
	}
	v := strconv.FormatInt(seq, 10)
	w.Header().Set(ChangeHeader, v)
	if w.browser {
		ck := &http.Cookie{Name: changeCookie, Value: v, Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode}
		w.Header().Add("Set-Cookie", ck.String())
	}
}

func (w *changeWriter) WriteHeaderNow() {
	w.stamp()
	w.ResponseWriter.WriteHeaderNow()
}

func (w *changeWriter) Write(b []byte) (int, error) {
	w.stamp()
	return w.ResponseWriter.Write(b)
}

func (w *changeWriter) WriteString(s string) (int, error) {
	w.stamp()
	return w.ResponseWriter.WriteString(s)
}
