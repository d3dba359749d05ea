package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/app/repository"
	"cadre/domain/object"
	"cadre/domain/security"
	"cadre/interfaces/httpapi"
)

// usersPerPage is the length of one page of the users list.
const usersPerPage = 20

// maxRoles is how many roles the role checkboxes offer.
const maxRoles = 1000

const msgUserConflict = "Someone else changed this user; reload."

func (h *Handlers) routesUsers(g *gin.RouterGroup) {
	g.GET("/users", h.listUsers)
	g.GET("/users/new", h.newUserForm)
	g.POST("/users", h.createUser)
	g.GET("/users/:oid", h.showUser)
	g.POST("/users/:oid", h.saveUser)
	g.POST("/users/:oid/enabled", h.setUserEnabled)
	g.POST("/users/:oid/sessions/end", h.endUserSessions)
}

// endUserSessions logs a user out everywhere, for an administrator.
func (h *Handlers) endUserSessions(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	ctx := c.Request.Context()
	p, _ := httpapi.PrincipalOf(c)
	oid := c.Param("oid")
	if _, err := h.getUser(ctx, p, oid); err != nil {
		h.fail(c, err)
		return
	}
	if err := h.endSessions(ctx, oid); err != nil {
		h.fail(c, err)
		return
	}
	h.log.InfoContext(ctx, "sessions ended everywhere", "user", oid, "by", p.Name)
	if oid == p.UserOID {
		httpapi.SetSessionCookie(c, "", -1)
		c.Redirect(http.StatusSeeOther, "/ui/login?ok=loggedout-everywhere")
		return
	}
	c.Redirect(http.StatusSeeOther, "/ui/users/"+url.PathEscape(oid)+"?ok=sessions-ended")
}

// usersPage is the data of the "users" template.
type usersPage struct {
	Query string
	Users []*object.User
	Pager ListPager
}

func (h *Handlers) listUsers(c *gin.Context) {
	q, users, pager, ok := searchList[*object.User](h, c, object.TypeUser, usersPerPage)
	if ok {
		h.render(c, http.StatusOK, "users", usersPage{Query: q, Users: users, Pager: pager})
	}
}

// userForm is what the user forms edit; on a failed save it holds what was
// submitted, so nothing typed is lost.
type userForm struct {
	Name         string
	FullName     string
	EmailAddress string
	Enabled      bool
	Roles        []string
}

func formOf(u *object.User) userForm {
	return userForm{Name: u.Name, FullName: u.FullName, EmailAddress: u.EmailAddress, Enabled: u.Enabled, Roles: u.Roles}
}

func readUserForm(c *gin.Context) userForm {
	f := userForm{
		Name:         strings.TrimSpace(c.PostForm("name")),
		FullName:     strings.TrimSpace(c.PostForm("fullName")),
		EmailAddress: strings.TrimSpace(c.PostForm("emailAddress")),
		Enabled:      c.PostForm("enabled") == "true",
	}
	for _, oid := range c.PostFormArray("roles") {
		if oid != "" && !slices.Contains(f.Roles, oid) {
			f.Roles = append(f.Roles, oid)
		}
	}
	return f
}

// roleChoice is one role checkbox.
type roleChoice struct {
	OID, Name, Description string
	Checked                bool
}

// userPage is the data of the "user" template.
type userPage struct {
	// User is the stored user, for the heading and read-only view.
	User *object.User
	// Form holds the values in the edit form.
	Form userForm
	// Version goes into the hidden "version" field: the version the form was loaded at.
	Version int64
	Roles   []roleChoice
	// Stale is set after a version conflict, to offer a reload.
	Stale bool
	// Self is set when the user is the one looking, to offer logging out
	// everywhere.
	Self bool
}

// newUserPage is the data of the "user_new" template.
type newUserPage struct {
	Form  userForm
	Roles []roleChoice
}

func (h *Handlers) roles(ctx context.Context, p security.Principal) ([]*object.Role, error) {
	res, err := h.repo.Search(ctx, p, object.Query{Type: object.TypeRole, Limit: maxRoles})
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	roles := make([]*object.Role, 0, len(res.Items))
	for _, o := range res.Items {
		roles = append(roles, o.(*object.Role))
	}
	return roles, nil
}

func roleChoices(roles []*object.Role, checked []string) []roleChoice {
	out := make([]roleChoice, 0, len(roles))
	for _, r := range roles {
		out = append(out, roleChoice{OID: r.OID, Name: r.Name, Description: r.Description, Checked: slices.Contains(checked, r.OID)})
	}
	return out
}

// getUser reads one user for the principal.
func (h *Handlers) getUser(ctx context.Context, p security.Principal, oid string) (*object.User, error) {
	o, err := h.repo.Get(ctx, p, object.TypeUser, oid)
	if err != nil {
		return nil, err
	}
	u, ok := o.(*object.User)
	if !ok {
		return nil, fmt.Errorf("object %s is a %s, not a user: %w", oid, o.Type(), object.ErrNotFound)
	}
	return u, nil
}

func (h *Handlers) showUser(c *gin.Context) {
	ctx := c.Request.Context()
	p, _ := httpapi.PrincipalOf(c)
	u, err := h.getUser(ctx, p, c.Param("oid"))
	if err != nil {
		h.fail(c, err)
		return
	}
	roles, err := h.roles(ctx, p)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "user", userPage{User: u, Form: formOf(u), Version: u.Version, Roles: roleChoices(roles, u.Roles), Self: u.OID == p.UserOID})
}

// formVersion reads the hidden "version" field; without it the form is broken.
func (h *Handlers) formVersion(c *gin.Context) (int64, bool) {
	v, err := strconv.ParseInt(c.PostForm("version"), 10, 64)
	if err != nil || v < 1 {
		h.renderError(c, http.StatusBadRequest, "The form has no valid version field. Reload the page and try again.")
		return 0, false
	}
	return v, true
}

func (h *Handlers) saveUser(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	ctx := c.Request.Context()
	p, _ := httpapi.PrincipalOf(c)
	oid := c.Param("oid")
	version, ok := h.formVersion(c)
	if !ok {
		return
	}
	form := readUserForm(c)
	roles, err := h.roles(ctx, p)
	if err != nil {
		h.fail(c, err)
		return
	}
	w, err := h.repo.ModifyWithApproval(ctx, p, repository.ModifyInput{
		Type: object.TypeUser, OID: oid, ExpectedVersion: version, Password: c.PostForm("password"),
		Apply: func(o object.Object) error {
			u := o.(*object.User)
			u.FullName, u.EmailAddress, u.Enabled = form.FullName, form.EmailAddress, form.Enabled
			u.Roles = mergeRoles(u.Roles, form.Roles, roles)
			return nil
		},
	})
	if err != nil {
		h.userSaveFailed(c, oid, form, version, roles, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/ui/users/"+url.PathEscape(oid)+"?ok="+heldFlash(w, "saved"))
}

// mergeRoles is the user's new role list: the checked roles among those the
// form offered, plus any role the form did not offer (left untouched).
func mergeRoles(current, checked []string, offered []*object.Role) []string {
	isOffered := func(oid string) bool {
		return slices.ContainsFunc(offered, func(r *object.Role) bool { return r.OID == oid })
	}
	out := []string{}
	for _, oid := range current {
		if !isOffered(oid) {
			out = append(out, oid)
		}
	}
	for _, r := range offered {
		if slices.Contains(checked, r.OID) {
			out = append(out, r.OID)
		}
	}
	return out
}

// userSaveFailed shows the user page again with what was submitted and why
// it was not saved: a stale version (409), invalid values (422), or the
// error page for anything else.
func (h *Handlers) userSaveFailed(c *gin.Context, oid string, form userForm, version int64, roles []*object.Role, err error) {
	var conflict *object.ConflictError
	status, message := describe(err)
	stale := errors.As(err, &conflict)
	if stale {
		message = msgUserConflict
	} else if status != http.StatusUnprocessableEntity {
		h.fail(c, err)
		return
	}
	p, _ := httpapi.PrincipalOf(c)
	u, gerr := h.getUser(c.Request.Context(), p, oid)
	if gerr != nil {
		h.fail(c, gerr)
		return
	}
	h.renderAlert(c, status, "user", message, userPage{User: u, Form: form, Version: version, Roles: roleChoices(roles, form.Roles), Stale: stale})
}

func (h *Handlers) setUserEnabled(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	ctx := c.Request.Context()
	p, _ := httpapi.PrincipalOf(c)
	oid := c.Param("oid")
	version, ok := h.formVersion(c)
	if !ok {
		return
	}
	var enabled bool
	switch c.PostForm("enabled") {
	case "true":
		enabled = true
	case "false":
	default:
		h.renderError(c, http.StatusBadRequest, `The form must say whether to enable the user ("enabled" is "true" or "false").`)
		return
	}
	_, err := h.repo.Modify(ctx, p, repository.ModifyInput{
		Type: object.TypeUser, OID: oid, ExpectedVersion: version,
		Apply: func(o object.Object) error {
			o.(*object.User).Enabled = enabled
			return nil
		},
	})
	if err != nil {
		var conflict *object.ConflictError
		if !errors.As(err, &conflict) {
			h.fail(c, err)
			return
		}
		u, gerr := h.getUser(ctx, p, oid)
		if gerr != nil {
			h.fail(c, gerr)
			return
		}
		roles, rerr := h.roles(ctx, p)
		if rerr != nil {
			h.fail(c, rerr)
			return
		}
		h.renderAlert(c, http.StatusConflict, "user", msgUserConflict,
			userPage{User: u, Form: formOf(u), Version: version, Roles: roleChoices(roles, u.Roles), Stale: true})
		return
	}
	flash := "disabled"
	if enabled {
		flash = "enabled"
	}
	c.Redirect(http.StatusSeeOther, "/ui/users/"+url.PathEscape(oid)+"?ok="+flash)
}

func (h *Handlers) newUserForm(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	p, _ := httpapi.PrincipalOf(c)
	roles, err := h.roles(c.Request.Context(), p)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "user_new", newUserPage{Form: userForm{Enabled: true}, Roles: roleChoices(roles, nil)})
}

func (h *Handlers) createUser(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	ctx := c.Request.Context()
	p, _ := httpapi.PrincipalOf(c)
	form := readUserForm(c)
	roles, err := h.roles(ctx, p)
	if err != nil {
		h.fail(c, err)
		return
	}
	u := &object.User{Meta: object.Meta{Name: form.Name}, FullName: form.FullName, EmailAddress: form.EmailAddress,
		Enabled: form.Enabled, Roles: mergeRoles(nil, form.Roles, roles)}
	w, err := h.repo.AddWithApproval(ctx, p, repository.AddInput{Object: u, Password: c.PostForm("password")})
	if err != nil {
		status, message := describe(err)
		switch {
		case errors.Is(err, object.ErrAlreadyExists):
			message = fmt.Sprintf("A user named %q already exists.", form.Name)
		case status != http.StatusUnprocessableEntity:
			h.fail(c, err)
			return
		}
		h.renderAlert(c, status, "user_new", message, newUserPage{Form: form, Roles: roleChoices(roles, form.Roles)})
		return
	}
	c.Redirect(http.StatusSeeOther, "/ui/users/"+url.PathEscape(w.Object.ObjectMeta().OID)+"?ok="+heldFlash(w, "created"))
}

// heldFlash is the flash after a user write: flash, or its "-held" form
// when roles wait for approval.
func heldFlash(w repository.Written, flash string) string {
	if len(w.Cases) > 0 {
		return flash + "-held"
	}
	return flash
}
