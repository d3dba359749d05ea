package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/app/repository"
	"cadre/domain/object"
)

func (a *API) objectType(c *gin.Context) (object.Type, bool) {
	t, err := object.ParseType(c.Param("type"))
	if err != nil {
		Abort(c, http.StatusNotFound, "unknown-type", err.Error())
		return "", false
	}
	return t, true
}

func (a *API) searchObjects(c *gin.Context) {
	t, ok := a.objectType(c)
	if !ok {
		return
	}
	q := object.Query{Type: t, Name: c.Query("name"), NameContains: c.Query("nameContains")}
	after, err := DecodeCursor(c.Query("after"))
	if err != nil {
		Abort(c, http.StatusBadRequest, "bad-query", "after: "+err.Error())
		return
	}
	q.After = after
	if q.Limit, err = intQuery(c, "limit", 50); err != nil {
		Abort(c, http.StatusBadRequest, "bad-query", err.Error())
		return
	}
	if q.Offset, err = intQuery(c, "offset", 0); err != nil {
		Abort(c, http.StatusBadRequest, "bad-query", err.Error())
		return
	}
	p, _ := PrincipalOf(c)
	page, err := a.d.Repo.Search(c.Request.Context(), p, q)
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	items := make([]any, 0, len(page.Items))
	for _, o := range page.Items {
		items = append(items, ObjectJSON(o))
	}
	q = q.Normalize()
	body := gin.H{"items": items, "total": page.Total, "totalEstimated": page.TotalEstimated, "limit": q.Limit, "offset": q.Offset}
	if page.Next != "" {
		body["next"] = EncodeCursor(page.Next)
	}
	c.JSON(http.StatusOK, body)
}

func intQuery(c *gin.Context, key string, def int) (int, error) {
	v := c.Query(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must be a non-negative integer, got %q", key, v)
	}
	return n, nil
}

func (a *API) getObject(c *gin.Context) {
	t, ok := a.objectType(c)
	if !ok {
		return
	}
	p, _ := PrincipalOf(c)
	o, err := a.d.Repo.Get(c.Request.Context(), p, t, c.Param("oid"))
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	c.Header("ETag", fmt.Sprintf(`"%d"`, o.ObjectMeta().Version))
	c.JSON(http.StatusOK, ObjectJSON(o))
}

// decodeObjectPatch splits a JSON object body into the password and the
// remaining fields, refusing fields the client may not set.
func decodeObjectPatch(body []byte) (fields []byte, password string, err error) {
	var m map[string]json.RawMessage
	if err := DecodeStrict(body, &m); err != nil {
		return nil, "", err
	}
	if raw, ok := m["password"]; ok {
		if err := json.Unmarshal(raw, &password); err != nil {
			return nil, "", errors.New("password must be a string")
		}
		delete(m, "password")
	}
	for _, k := range []string{"passwordHash", "createdAt", "modifiedAt", "effectiveAuthorizations"} {
		if _, ok := m[k]; ok {
			return nil, "", fmt.Errorf("field %q cannot be set", k)
		}
	}
	delete(m, "version")
	fields, _ = json.Marshal(m)
	return fields, password, nil
}

func (a *API) addObject(c *gin.Context) {
	t, ok := a.objectType(c)
	if !ok {
		return
	}
	body, ok := ReadBody(c)
	if !ok {
		return
	}
	fields, password, err := decodeObjectPatch(body)
	if err != nil {
		Abort(c, http.StatusBadRequest, "bad-json", err.Error())
		return
	}
	o := object.New(t)
	if err := decodeObjectInput(fields, o); err != nil {
		Abort(c, http.StatusBadRequest, "bad-json", err.Error())
		return
	}
	p, _ := PrincipalOf(c)
	w, err := a.d.Repo.AddWithApproval(c.Request.Context(), p, repository.AddInput{Object: o, Password: password})
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	c.Header("Location", fmt.Sprintf("/api/v1/objects/%s/%s", t, w.Object.ObjectMeta().OID))
	writtenJSON(c, w, http.StatusCreated)
}

// etag is the ETag header value of an object: its version, quoted.
func etag(o object.Object) string { return fmt.Sprintf(`"%d"`, o.ObjectMeta().Version) }

// ParseIfMatch reads an If-Match version: "3", 3 or W/"3". Absent means 0 (any).
func ParseIfMatch(h string) (int64, error) {
	h = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h), "W/"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("If-Match must be an object version such as \"3\", got %q", h)
	}
	return v, nil
}

func (a *API) modifyObject(c *gin.Context) {
	t, ok := a.objectType(c)
	if !ok {
		return
	}
	version, err := ParseIfMatch(c.GetHeader("If-Match"))
	if err != nil {
		Abort(c, http.StatusBadRequest, "bad-if-match", err.Error())
		return
	}
	body, ok := ReadBody(c)
	if !ok {
		return
	}
	fields, password, err := decodeObjectPatch(body)
	if err != nil {
		Abort(c, http.StatusBadRequest, "bad-json", err.Error())
		return
	}
	oid := c.Param("oid")
	var badJSON error
	p, _ := PrincipalOf(c)
	w, err := a.d.Repo.ModifyWithApproval(c.Request.Context(), p, repository.ModifyInput{
		Type: t, OID: oid, ExpectedVersion: version, Password: password,
		Apply: func(o object.Object) error {
			if err := decodeObjectInput(fields, o); err != nil {
				badJSON = err
				return err
			}
			if o.ObjectMeta().OID != oid {
				badJSON = errors.New("oid cannot be changed")
				return badJSON
			}
			return nil
		},
	})
	if badJSON != nil {
		Abort(c, http.StatusBadRequest, "bad-json", badJSON.Error())
		return
	}
	if err != nil {
		Fail(c, a.log, err)
		return
	}
	writtenJSON(c, w, http.StatusOK)
}

func (a *API) deleteObject(c *gin.Context) {
	t, ok := a.objectType(c)
	if !ok {
		return
	}
	p, _ := PrincipalOf(c)
	if err := a.d.Repo.Delete(c.Request.Context(), p, t, c.Param("oid")); err != nil {
		Fail(c, a.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}
