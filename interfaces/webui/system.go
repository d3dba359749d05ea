package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/app/repository"
	"cadre/domain/object"
	"cadre/interfaces/httpapi"
)

const msgSystemConflict = "Someone else changed the system configuration; reload."

func (h *Handlers) routesSystem(g *gin.RouterGroup) {
	g.GET("/system", h.showSystem)
	g.POST("/system", h.saveSystem)
}

// systemForm is what the system configuration form edits.
type systemForm struct {
	URLPattern     string
	SubscriptionID string
}

// systemPage is the data of the "system" template.
type systemPage struct {
	Config  *object.SystemConfiguration
	Form    systemForm
	Version int64
	// NodeURLs are the nodes' intra-cluster URLs as registered now.
	NodeURLs []nodeURL
	Stale    bool
}

// nodeURL is one node's registered intra-cluster URL.
type nodeURL struct{ ID, URL string }

func systemFormOf(s *object.SystemConfiguration) systemForm {
	return systemForm{URLPattern: s.Infrastructure.IntraClusterHTTPURLPattern, SubscriptionID: s.DeploymentInformation.SubscriptionIdentifier}
}

func (h *Handlers) getSystem(c *gin.Context) (*object.SystemConfiguration, error) {
	p, _ := httpapi.PrincipalOf(c)
	o, err := h.repo.Get(c.Request.Context(), p, object.TypeSystemConfiguration, object.SystemConfigurationOID)
	if err != nil {
		return nil, err
	}
	s, ok := o.(*object.SystemConfiguration)
	if !ok {
		return nil, fmt.Errorf("object %s is a %s, not the system configuration: %w", object.SystemConfigurationOID, o.Type(), object.ErrNotFound)
	}
	return s, nil
}

// systemPage builds the page for form; the node URLs are best effort.
func (h *Handlers) systemPage(c *gin.Context, s *object.SystemConfiguration, f systemForm, version int64) systemPage {
	p := systemPage{Config: s, Form: f, Version: version}
	if h.nodes == nil {
		return p
	}
	views, err := h.nodes(c.Request.Context())
	if err != nil {
		return p
	}
	for _, v := range views {
		p.NodeURLs = append(p.NodeURLs, nodeURL{ID: v.ID, URL: v.URL})
	}
	return p
}

func (h *Handlers) showSystem(c *gin.Context) {
	s, err := h.getSystem(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "system", h.systemPage(c, s, systemFormOf(s), s.Version))
}

func (h *Handlers) saveSystem(c *gin.Context) {
	if !h.requireWrite(c) {
		return
	}
	p, _ := httpapi.PrincipalOf(c)
	version, ok := h.formVersion(c)
	if !ok {
		return
	}
	form := systemForm{URLPattern: strings.TrimSpace(c.PostForm("intraClusterHttpUrlPattern")),
		SubscriptionID: strings.TrimSpace(c.PostForm("subscriptionIdentifier"))}
	err := checkURLPattern(form.URLPattern)
	if err == nil {
		_, err = h.repo.Modify(c.Request.Context(), p, repository.ModifyInput{
			Type: object.TypeSystemConfiguration, OID: object.SystemConfigurationOID, ExpectedVersion: version,
			Apply: func(o object.Object) error {
				s := o.(*object.SystemConfiguration)
				s.Infrastructure.IntraClusterHTTPURLPattern = form.URLPattern
				s.DeploymentInformation.SubscriptionIdentifier = form.SubscriptionID
				return nil
			},
		})
	}
	if err == nil {
		c.Redirect(http.StatusSeeOther, "/ui/system?ok=saved")
		return
	}
	var conflict *object.ConflictError
	var problem formProblem
	status, message := describe(err)
	stale := errors.As(err, &conflict)
	switch {
	case stale:
		message = msgSystemConflict
	case errors.As(err, &problem):
		status, message = http.StatusUnprocessableEntity, string(problem)
	case status != http.StatusUnprocessableEntity:
		h.fail(c, err)
		return
	}
	s, gerr := h.getSystem(c)
	if gerr != nil {
		h.fail(c, gerr)
		return
	}
	page := h.systemPage(c, s, form, version)
	page.Stale = stale
	h.renderAlert(c, status, "system", message, page)
}

// checkURLPattern refuses a pattern that cannot make an HTTP URL, since
// every node would then fail to reach the others. Empty is fine: nodes fall
// back to their own URL.
func checkURLPattern(pattern string) error {
	if pattern == "" {
		return nil
	}
	sample := strings.NewReplacer("$host", "node1.example", "$port", "8080", "$path", "cadre").Replace(pattern)
	u, err := url.Parse(sample)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return formProblem(fmt.Sprintf("The URL pattern %q does not make an http:// or https:// URL with a host, for example https://$host:$port/$path.", pattern))
	}
	if strings.ContainsAny(pattern, " \t") {
		return formProblem("The URL pattern must not contain spaces.")
	}
	return nil
}
