package browser_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cadre/node/proctest"
)

// TestAPIDocsRenderFromTheNodeAlone opens /api/v1/docs in Chromium and waits
// for Redoc to render the description; every resource the page loaded must
// come from the node itself (no CDN, so the page works offline).
func TestAPIDocsRenderFromTheNodeAlone(t *testing.T) {
	exe := chromium(t)
	t.Parallel()
	p := proctest.Start(t, "docs", "-Dmidpoint.administrator.initialPassword="+proctest.AdminPassword)
	b := newTab(t, exe)
	b.do("open the API docs", chromedp.Navigate(p.URL+"/api/v1/docs"))
	b.waitJS("Redoc to render the operations", `document.body.innerText.includes("Create a task") && document.body.innerText.includes("Read a task with its progress")`, 30*time.Second)
	foreign := eval[[]string](b, `performance.getEntriesByType("resource").map(e => e.name).filter(u => !u.startsWith(location.origin))`)
	if len(foreign) > 0 {
		t.Fatalf("the docs page loaded resources from elsewhere: %v", foreign)
	}
	b.screenshot("api-docs.png", true)
}
