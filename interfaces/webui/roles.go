package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/app/repository"
	"cadre/domain/object"
	"cadre/interfaces/httpapi"
)

// rolesPerPage is the length of one page of the roles list.
const rolesPerPage = 20

const msgRoleConflict = "Someone else changed this role; reload."

// authorizationHints describe the known authorizations on the role form.
var authorizationHints = map[string]string{
	object.AuthSuperuser: "everything: read and change every object, task and node",
	object.AuthReader:    "read every object, task and node, change nothing",
}

func (h *Handlers) routesRoles(g *gin.RouterGroup) {
	g.GET("/roles", h.listRoles)
	g.GET("/roles/new", h.newRoleForm)
	g.POST("/roles/new", h.createRole)
	g.GET("/roles/:oid", h.showRole)
	g.POST("/roles/:oid", h.saveRole)
}

// rolesPage is the data of the "roles" template.
type rolesPage struct {
	Query string
	Roles []*object.Role
	Pager ListPager
}

func (h *Handlers) listRoles(c *gin.Context) {
	q, roles, pager, ok := searchList[*object.Role](h, c, object.TypeRole, rolesPerPage)
	if ok {
		h.render(c, http.StatusOK, "roles", rolesPage{Query: q, Roles: roles, Pager: pager})
	}
}

// roleForm is what the role forms edit; on a failed save it holds what was
// submitted, so nothing typed is lost.
type roleForm struct {
	Name        string
	Description string
	// Authorizations are the checked ones, in the order of the form.
	Authorizations []string
	// Approvers are user names (or OIDs), separated by commas.
	Approvers string
}

// authChoice is one authorization checkbox.
type authChoice struct {
	Name, Hint string
	Checked    bool
}

// rolePage is the data of the "role" template, for a new role (Role nil)
// and for an existing one.
type rolePage struct {
	// Role is the stored role; nil on the new-role form.
	Role *object.Role
	Form roleForm
	// Version goes into the hidden "version" field.
	Version int64
	Auths   []authChoice
	// Unknown are authorizations the role holds that this node does not know;
	// they are kept on save.
	Unknown []string
	// Stale is set after a version conflict, to offer a reload.
	Stale bool
}

func (h *Handlers) roleFormOf(ctx context.Context, r *object.Role) roleForm {
	return roleForm{Name: r.Name, Description: r.Description, Authorizations: r.Authorizations, Approvers: h.approverNames(ctx, r)}
}

// approverNames are the role's approvers as the form shows them: user
// names, or the OID of a user that is gone.
func (h *Handlers) approverNames(ctx context.Context, r *object.Role) string {
	names := make([]string, 0, len(r.Approvers))
	for _, oid := range r.Approvers {
		if u, err := h.repo.Store().Get(ctx, object.TypeUser, oid); err == nil {
			oid = u.ObjectMeta().Name
		}
		names = append(names, oid)
	}
	return strings.Join(names, ", ")
}

// approverList splits the form's approvers at commas; the repository
// resolves each name to a user's OID.
func (f roleForm) approverList() []string {
	out := []string{}
	for _, a := range strings.Split(f.Approvers, ",") {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func readRoleForm(c *gin.Context) roleForm {
	f := roleForm{Name: strings.TrimSpace(c.PostForm("name")), Description: strings.TrimSpace(c.PostForm("description")),
		Approvers: strings.TrimSpace(c.PostForm("approvers"))}
	for _, a := range c.PostFormArray("authorizations") {
		if a != "" && !slices.Contains(f.Authorizations, a) {
			f.Authorizations = append(f.Authorizations, a)
		}
	}
	return f
}

// newRolePage builds the page for form; stored is the role as saved (nil for a new one).
func newRolePage(stored *object.Role, f roleForm, version int64) rolePage {
	p := rolePage{Role: stored, Form: f, Version: version}
	for _, a := range object.KnownAuthorizations {
		p.Auths = append(p.Auths, authChoice{Name: a, Hint: authorizationHints[a], Checked: slices.Contains(f.Authorizations, a)})
	}
	if stored != nil {
		for _, a := range stored.Authorizations {
			if !slices.Contains(object.KnownAuthorizations, a) {
				p.Unknown = append(p.Unknown, a)
			}
		}
	}
	return p
}

// roleAuthorizations is the role's new list: the checked known ones, plus
// those the form did not offer (left untouched).
func roleAuthorizations(current, checked []string) []string {
	out := []string{}
	for _, a := range current {
		if !slices.Contains(object.KnownAuthorizations, a) {
			out = append(out, a)
		}
	}
	for _, a := range checked {
		if !slices.Contains(out, a) {
			out = append(out, a) // an unknown one is refused by the role's validation
		}
	}
	return out
}

func (h *Handlers) getRole(c *gin.Context, oid string) (*object.Role, error) {
	p, _ := httpapi.PrincipalOf(c)
	o, err := h.repo.Get(c.Request.Context(), p, object.TypeRole, oid)
	if err != nil {
		return nil, err
	}
	r, ok := o.(*object.Role)
	if !ok {
		return nil, fmt.Errorf("object %s is a %s, not a role: %w", oid, o.Type(), object.ErrNotFound)
	}
	return r, nil
}

func (h *Handlers) showRole(c *gin.Context) {
	r, err := h.getRole(c, c.Param("oid"))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "role", newRolePage(r, h.roleFormOf(c.Request.Context(), r), r.Version))
}

func (h *Handlers) saveRole(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	p, _ := httpapi.PrincipalOf(c)
	oid := c.Param("oid")
	version, ok := h.formVersion(c)
	if !ok {
		return
	}
	form := readRoleForm(c)
	_, err := h.repo.Modify(c.Request.Context(), p, repository.ModifyInput{
		Type: object.TypeRole, OID: oid, ExpectedVersion: version,
		Apply: func(o object.Object) error {
			r := o.(*object.Role)
			r.Name, r.Description = form.Name, form.Description
			r.Authorizations = roleAuthorizations(r.Authorizations, form.Authorizations)
			r.Approvers = form.approverList()
			return nil
		},
	})
	if err == nil {
		c.Redirect(http.StatusSeeOther, "/ui/roles/"+url.PathEscape(oid)+"?ok=saved")
		return
	}
	var conflict *object.ConflictError
	status, message := describe(err)
	stale := errors.As(err, &conflict)
	switch {
	case stale:
		message = msgRoleConflict
	case errors.Is(err, object.ErrAlreadyExists):
		message = fmt.Sprintf("A role named %q already exists.", form.Name)
	case status != http.StatusUnprocessableEntity:
		h.fail(c, err)
		return
	}
	stored, gerr := h.getRole(c, oid)
	if gerr != nil {
		h.fail(c, gerr)
		return
	}
	page := newRolePage(stored, form, version)
	page.Stale = stale
	h.renderAlert(c, status, "role", message, page)
}

func (h *Handlers) newRoleForm(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	h.render(c, http.StatusOK, "role", newRolePage(nil, roleForm{}, 0))
}

func (h *Handlers) createRole(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	p, _ := httpapi.PrincipalOf(c)
	form := readRoleForm(c)
	r := &object.Role{Meta: object.Meta{Name: form.Name}, Description: form.Description,
		Authorizations: roleAuthorizations(nil, form.Authorizations), Approvers: form.approverList()}
	stored, err := h.repo.Add(c.Request.Context(), p, repository.AddInput{Object: r})
	if err != nil {
		status, message := describe(err)
		switch {
		case errors.Is(err, object.ErrAlreadyExists):
			message = fmt.Sprintf("A role named %q already exists.", form.Name)
		case status != http.StatusUnprocessableEntity:
			h.fail(c, err)
			return
		}
		h.renderAlert(c, status, "role", message, newRolePage(nil, form, 0))
		return
	}
	c.Redirect(http.StatusSeeOther, "/ui/roles/"+url.PathEscape(stored.ObjectMeta().OID)+"?ok=role-created")
}
