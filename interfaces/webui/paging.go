package webui

import (
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"
)

// maxPage bounds the page parameter so offsets stay reasonable.
const maxPage = 1_000_000

// Pager is the data of the "pager" template: position in a list and links to
// the neighbouring pages (empty when there is none).
type Pager struct {
	Page, Pages     int
	Total, From, To int64
	PrevURL         string
	NextURL         string
}

// pageParam reads the 1-based "page" query parameter; anything invalid is page 1.
func pageParam(c *gin.Context) int {
	n, err := strconv.Atoi(c.Query("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxPage)
}

// newPager describes page (1-based) of total items, perPage per page; the
// links keep the other query parameters of u.
func newPager(u *url.URL, page, perPage int, total int64) Pager {
	pages := int((total + int64(perPage) - 1) / int64(perPage))
	p := Pager{Page: page, Pages: max(pages, 1), Total: total}
	if total > 0 && page <= pages {
		p.From = int64((page-1)*perPage) + 1
		p.To = min(int64(page*perPage), total)
	}
	link := func(n int) string {
		q := u.Query()
		if n == 1 {
			q.Del("page")
		} else {
			q.Set("page", strconv.Itoa(n))
		}
		q.Del("ok")
		if len(q) == 0 {
			return u.Path
		}
		return u.Path + "?" + q.Encode()
	}
	if page > 1 {
		p.PrevURL = link(min(page-1, p.Pages))
	}
	if page < pages {
		p.NextURL = link(page + 1)
	}
	return p
}
