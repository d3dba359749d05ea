package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"cadre/app/auth"
	"cadre/domain/object"
	"cadre/domain/security"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (a *API) login(c *gin.Context) {
	if !SameOrigin(c.Request) {
		a.log.WarnContext(c.Request.Context(), "API login posted from another site", "origin", c.GetHeader("Origin"), "referer", c.GetHeader("Referer"))
		Abort(c, http.StatusForbidden, "cross-origin", "login refused: the request came from another site (Origin or Referer is not this server)")
		return
	}
	var req loginRequest
	if !BindJSON(c, &req) {
		return
	}
	if req.Username == "" || req.Password == "" {
		Abort(c, http.StatusBadRequest, "bad-request", "username and password are required")
		return
	}
	token, sess, p, err := a.d.Auth.Login(c.Request.Context(), c.ClientIP(), req.Username, req.Password)
	if err != nil {
		if status, _ := StatusOf(err); status == http.StatusInternalServerError {
			Unavailable(c, a.log, "login", err)
			return
		}
		Fail(c, a.log, err)
		return
	}
	SetSessionCookie(c, token, int(security.SessionIdleTimeout.Seconds()))
	c.JSON(http.StatusOK, gin.H{"user": p.Name, "userOid": p.UserOID, "authorizations": p.Authorizations, "csrfToken": sess.CSRFToken, "expiresAt": sess.ExpiresAt})
}

// logout ends the cookie's session. A live session is ended only with its
// CSRF token, as every other cookie request that changes state: another
// site must not be able to log a user out.
func (a *API) logout(c *gin.Context) {
	if sess, ok := SessionOf(c); ok && IsCookieAuth(c) && !auth.CheckCSRF(sess, c.GetHeader("X-CSRF-Token")) {
		Abort(c, http.StatusForbidden, "csrf", "missing or wrong X-CSRF-Token header for a cookie-authenticated request")
		return
	}
	if token, err := c.Cookie(SessionCookie); err == nil && token != "" {
		if err := a.d.Auth.Logout(c.Request.Context(), token); err != nil {
			Fail(c, a.log, err)
			return
		}
	}
	SetSessionCookie(c, "", -1)
	c.Status(http.StatusNoContent)
}

// endUserSessions logs a user out everywhere: every session of the user
// ends, on every node. Users may end their own sessions; ending another
// user's needs the superuser authorization.
func (a *API) endUserSessions(c *gin.Context) {
	if c.Param("type") != "users" {
		Abort(c, http.StatusNotFound, "not-found", "only users have sessions: no such path: "+c.Request.URL.Path)
		return
	}
	ctx := c.Request.Context()
	oid := c.Param("oid")
	p, _ := PrincipalOf(c)
	if p.UserOID != oid {
		if _, err := a.d.Repo.Get(ctx, p, object.TypeUser, oid); err != nil {
			Fail(c, a.log, err)
			return
		}
		if err := p.RequireWrite(); err != nil {
			Fail(c, a.log, err)
			return
		}
	}
	end := a.d.EndSessions
	if end == nil {
		end = a.d.Auth.EndUserSessions
	}
	if err := end(ctx, oid); err != nil {
		Fail(c, a.log, err)
		return
	}
	a.log.InfoContext(ctx, "sessions ended everywhere", "user", oid, "by", p.Name)
	if p.UserOID == oid && IsCookieAuth(c) {
		SetSessionCookie(c, "", -1)
	}
	c.Status(http.StatusNoContent)
}
