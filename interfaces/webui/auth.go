package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/domain/security"
	"cadre/interfaces/httpapi"
)

func (h *Handlers) routesAuth(g *gin.RouterGroup) {
	g.POST("/logout", h.logout)
	g.POST("/logout-everywhere", h.logoutEverywhere)
}

// loginPage is the data of the "login" template.
type loginPage struct {
	Next     string
	Username string
}

func (h *Handlers) loginForm(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if _, ok := httpapi.SessionOf(c); ok && httpapi.IsCookieAuth(c) {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	h.render(c, http.StatusOK, "login", loginPage{Next: next})
}

func (h *Handlers) login(c *gin.Context) {
	ctx := c.Request.Context()
	if !httpapi.SameOrigin(c.Request) {
		h.log.WarnContext(ctx, "web login posted from another site", "origin", c.GetHeader("Origin"), "referer", c.GetHeader("Referer"))
		h.renderError(c, http.StatusForbidden, "This login form was sent from another site. Open the login page of this server and log in there.")
		return
	}
	data := loginPage{Next: safeNext(c.PostForm("next")), Username: strings.TrimSpace(c.PostForm("username"))}
	password := c.PostForm("password")
	if data.Username == "" || password == "" {
		h.renderAlert(c, http.StatusBadRequest, "login", "Enter your username and your password.", data)
		return
	}
	token, _, _, err := h.auth.Login(ctx, c.ClientIP(), data.Username, password)
	var throttled *security.ThrottledError
	if errors.As(err, &throttled) {
		h.log.WarnContext(ctx, "web login throttled", "user", data.Username, "client", c.ClientIP())
		c.Header("Retry-After", strconv.FormatInt(security.RetryAfterSeconds(throttled.RetryAfter), 10))
		h.renderAlert(c, http.StatusTooManyRequests, "login", fmt.Sprintf("Too many failed logins. Try again in %d seconds.", security.RetryAfterSeconds(throttled.RetryAfter)), data)
		return
	}
	if errors.Is(err, security.ErrBadCredentials) {
		h.log.InfoContext(ctx, "web login refused", "user", data.Username)
		h.renderAlert(c, http.StatusUnauthorized, "login", "Wrong username or password.", data)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	if old, err := c.Cookie(httpapi.SessionCookie); err == nil && old != "" {
		if err := h.auth.Logout(ctx, old); err != nil { // the new session replaces it
			h.log.WarnContext(ctx, "end previous session at login", "err", err)
		}
	}
	httpapi.SetSessionCookie(c, token, int(security.SessionIdleTimeout.Seconds()))
	c.Redirect(http.StatusSeeOther, data.Next)
}

func (h *Handlers) logout(c *gin.Context) {
	if token, err := c.Cookie(httpapi.SessionCookie); err == nil && token != "" {
		if err := h.auth.Logout(c.Request.Context(), token); err != nil {
			h.fail(c, err)
			return
		}
	}
	httpapi.SetSessionCookie(c, "", -1)
	c.Redirect(http.StatusSeeOther, "/ui/login?ok=loggedout")
}

// logoutEverywhere ends every session of the logged-in user, on every
// node: this browser's and any other's.
func (h *Handlers) logoutEverywhere(c *gin.Context) {
	p, _ := httpapi.PrincipalOf(c)
	if err := h.endSessions(c.Request.Context(), p.UserOID); err != nil {
		h.fail(c, err)
		return
	}
	h.log.InfoContext(c.Request.Context(), "sessions ended everywhere", "user", p.UserOID, "by", p.Name)
	httpapi.SetSessionCookie(c, "", -1)
	c.Redirect(http.StatusSeeOther, "/ui/login?ok=loggedout-everywhere")
}

// safeNext returns next when it is a local /ui path, else "/ui/", so the login
// form cannot be used to send people to another site.
func safeNext(next string) string {
	const home = "/ui/"
	if !strings.HasPrefix(next, "/ui") || strings.ContainsAny(next, "\\\r\n\t") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return home
	}
	clean := path.Clean(u.Path)
	if (clean != "/ui" && !strings.HasPrefix(clean, "/ui/")) || clean == "/ui/login" {
		return home
	}
	return next
}
