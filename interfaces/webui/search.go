package webui

import (
	"strings"

	"github.com/gin-gonic/gin"

	"cadre/domain/object"
	"cadre/interfaces/httpapi"
)

// searchList runs the search behind a list page: the "q" name filter and
// the "page" number of the request, perPage objects of type t, typed as T.
// On failure it has already answered and returns ok=false.
func searchList[T object.Object](h *Handlers, c *gin.Context, t object.Type, perPage int) (query string, items []T, pager Pager, ok bool) {
	p, _ := httpapi.PrincipalOf(c)
	query = strings.TrimSpace(c.Query("q"))
	page := pageParam(c)
	res, err := h.repo.Search(c.Request.Context(), p, object.Query{Type: t, NameContains: query, Limit: perPage, Offset: (page - 1) * perPage})
	if err != nil {
		h.fail(c, err)
		return "", nil, Pager{}, false
	}
	for _, o := range res.Items {
		items = append(items, o.(T))
	}
	return query, items, newPager(c.Request.URL, page, perPage, res.Total), true
}
