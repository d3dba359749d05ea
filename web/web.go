// Package web holds the web UI's HTML templates and static files, embedded in
// the binary so a node needs nothing on disk to serve its UI.
//
// Layout of FS:
//
//	templates/layout.html     the page frame; defines "layout", calls "title" and "content"
//	templates/partials/*.html shared pieces (for example "pager")
//	templates/pages/*.html    one file per page; each defines "title" and "content",
//	                          and the page is known by its file name without ".html"
//	static/                   CSS, JavaScript and icons, served under /static/
package web

import "embed"

// FS is the embedded templates/ and static/ trees. Templates are html/template
// files, parsed once when the web UI is registered.
//
//go:embed templates static
var FS embed.FS
