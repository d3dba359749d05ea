package webui

import (
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/domain/object"
	"cadre/interfaces/httpapi"
)

// searchList runs the search behind a list page: the "q" name filter and
// the "after" cursor of the request, perPage objects of type t, typed as T.
// A page after a cursor is read from where the one before ended, so the
// millionth user costs what the first does. A cursor that is not one (an old
// link, a hand-edited URL) shows the first page. On failure it has already
// answered and returns ok=false.
func searchList[T object.Object](h *Handlers, c *gin.Context, t object.Type, perPage int) (query string, items []T, pager ListPager, ok bool) {
	p, _ := httpapi.PrincipalOf(c)
	query = strings.TrimSpace(c.Query("q"))
	after, err := httpapi.DecodeCursor(c.Query("after"))
	if err != nil {
		after = ""
	}
	res, err := h.repo.Search(c.Request.Context(), p, object.Query{Type: t, NameContains: query, Limit: perPage, After: after})
	if err != nil {
		h.fail(c, err)
		return "", nil, ListPager{}, false
	}
	for _, o := range res.Items {
		items = append(items, o.(T))
	}
	return query, items, newListPager(c.Request.URL, after != "", res), true
}

// ListPager is the data of the "list_pager" template: a list walked a page
// at a time by cursor, with links to its first and its next page (empty when
// there is none).
type ListPager struct {
	Shown          int
	Total          int64
	TotalEstimated bool
	FirstURL       string
	NextURL        string
}

// newListPager describes page res, which came after a cursor when later is
// set; the links keep the other query parameters of u.
func newListPager(u *url.URL, later bool, res object.Page) ListPager {
	p := ListPager{Shown: len(res.Items), Total: res.Total, TotalEstimated: res.TotalEstimated}
	link := func(after string) string {
		q := u.Query()
		q.Del("after")
		q.Del("page")
		q.Del("ok")
		if after != "" {
			q.Set("after", httpapi.EncodeCursor(after))
		}
		if len(q) == 0 {
			return u.Path
		}
		return u.Path + "?" + q.Encode()
	}
	if later {
		p.FirstURL = link("")
	}
	if res.Next != "" {
		p.NextURL = link(res.Next)
	}
	return p
}
