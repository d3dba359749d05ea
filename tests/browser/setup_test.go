// Package browser_test drives the web UI of a real three-node cluster (cadre
// processes on PostgreSQL) with the system's Chromium through chromedp, as a
// person would: it logs in through the form, watches the dashboard and a task
// page refresh themselves, clicks buttons, downloads a report and logs out.
//
// Chromium comes from the system: $CADRE_CHROMIUM, else /usr/bin/chromium,
// else chromium or chromium-browser on $PATH. Without one the tests skip with
// a clear line, unless CADRE_REQUIRE_BROWSER=1 makes that a failure (as
// CADRE_REQUIRE_POSTGRES does for the database, DESIGN §9).
//
// With CADRE_SCREENSHOTS=1 the tests also write the screenshots of the
// project's documentation (docs/screenshots/*.png); otherwise they write them
// to the test's temporary directory only.
package browser_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"cadre/db/dbtest"
	"cadre/node/proctest"
)

// Environment variables of the browser tests.
const (
	// ChromiumEnv names the Chromium binary to use.
	ChromiumEnv = "CADRE_CHROMIUM"
	// RequireEnv set to 1 turns a missing Chromium into a failure.
	RequireEnv = "CADRE_REQUIRE_BROWSER"
	// ScreenshotsEnv set to 1 writes the documentation's screenshots.
	ScreenshotsEnv = "CADRE_SCREENSHOTS"
)

// Cluster timings, short so the test runs in seconds (as tests/cluster).
const (
	interval = 500 * time.Millisecond
	timeout  = 3 * time.Second
)

// Browser timings.
const (
	// stepTimeout bounds one step in the browser (a click, a page load).
	stepTimeout = 15 * time.Second
	// viewW and viewH are the desktop viewport and the screenshots' size.
	viewW, viewH = 1280, 800
	// phoneW is the narrow viewport every page must fit.
	phoneW = 375
)

// chromium returns the path of the system's Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv(ChromiumEnv), "/usr/bin/chromium"} {
		if fi, err := os.Stat(p); p != "" && err == nil && !fi.IsDir() {
			return p
		}
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("Chromium not found at $%s, /usr/bin/chromium or on $PATH", ChromiumEnv)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s and %s=1", msg, RequireEnv)
	}
	t.Skipf("SKIP: %s (install chromium; %s=1 makes this a failure)", msg, RequireEnv)
	return ""
}

// clusterArgs are the arguments of every node (tests/cluster uses the same).
// hostName makes each node's intra-cluster URL http://127.0.0.1:<port>, the
// host the browser uses, so that the session cookie also goes with a report
// download redirected to another node.
func clusterArgs(dbURL string) []string {
	return []string{
		"-Dmidpoint.repository.jdbcUrl=" + dbURL,
		"-Dmidpoint.taskManager.clustered=true",
		"-Dmidpoint.taskManager.localNodeClusteringEnabled=true",
		"-Dmidpoint.taskManager.nodeRegistrationInterval=" + interval.String(),
		"-Dmidpoint.taskManager.nodeTimeout=" + timeout.String(),
		"-Dmidpoint.administrator.initialPassword=" + proctest.AdminPassword,
		"-Dmidpoint.hostName=127.0.0.1",
	}
}

// startCluster starts node1…node3 on a fresh PostgreSQL database and waits
// until node1 sees all three up and scheduling.
func startCluster(t *testing.T) []*proctest.Proc {
	t.Helper()
	url := dbtest.Postgres(t) // before the processes: cleanups run in reverse
	args := clusterArgs(url)
	var nodes []*proctest.Proc
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, proctest.Start(t, fmt.Sprintf("node%d", i), args...))
	}
	proctest.WaitFor(t, "three live nodes", 15*time.Second, func() bool {
		status, out := nodes[0].Admin().Do(t, http.MethodGet, "/api/v1/nodes", nil)
		items, _ := out["items"].([]any)
		if status != http.StatusOK || len(items) != 3 {
			return false
		}
		for _, it := range items {
			n, _ := it.(map[string]any)
			if n["alive"] != true || n["operationalState"] != "UP" || n["schedulerState"] != "RUNNING" {
				return false
			}
		}
		return true
	})
	return nodes
}

// tab is one Chromium tab driven by the test.
type tab struct {
	t   *testing.T
	ctx context.Context
	// downloads is where the browser saves files.
	downloads string
}

// newTab starts Chromium with a fresh profile and opens a tab at the
// desktop viewport; it answers JavaScript confirm dialogs with OK (the UI
// asks before disabling a user or stopping a scheduler).
func newTab(t *testing.T, execPath string) *tab {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(viewW, viewH),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first call starts the browser with ctx itself: a shorter-lived
	// context would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", execPath, err)
	}
	tb := &tab{t: t, ctx: ctx, downloads: t.TempDir()}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Logf("browser: confirm %q → OK", ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	yes := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: tb.downloads, EventsEnabled: &yes}); err != nil {
		t.Fatalf("set the download directory: %v", err)
	}
	// A headless window never has the system's focus; emulate it, so that
	// focus styles apply as in a window a person looks at.
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("emulate focus: %v", err)
	}
	tb.do("set the viewport", chromedp.EmulateViewport(viewW, viewH))
	return tb
}

// do runs steps within stepTimeout and fails the test, with a screenshot and
// the page's location, when one fails.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fatal(what, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fatal("evaluate "+expr, err)
	}
	return v
}

// waitJS evaluates a JavaScript expression until it is true; it survives
// navigations and the page's own refreshes.
func (b *tab) waitJS(what, expr string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			if lastErr == nil {
				lastErr = errors.New("still false")
			}
			b.fatal(fmt.Sprintf("wait %v for %s", within, what), lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// location is the page's URL.
func (b *tab) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.fatal("read the location", err)
	}
	return loc
}

// screenshot captures the viewport to name in the test's directory and,
// when doc is set and CADRE_SCREENSHOTS=1, to docs/screenshots/name too.
func (b *tab) screenshot(name string, doc bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.fatal("screenshot "+name, err)
	}
	b.save(name, png, doc)
}

// save writes a screenshot to the test's directory and, when doc is set and
// CADRE_SCREENSHOTS=1, to docs/screenshots.
func (b *tab) save(name string, png []byte, doc bool) {
	b.t.Helper()
	dirs := []string{b.t.TempDir()}
	if doc && os.Getenv(ScreenshotsEnv) == "1" {
		dirs = append(dirs, filepath.Join("..", "..", "docs", "screenshots"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot %s (%d bytes)", path, len(png))
	}
}

// fatal fails the test with what the browser shows.
func (b *tab) fatal(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if png, serr := chromedp.Run(ctx, chromedp.CaptureScreenshot()); serr == nil {
		path := filepath.Join(b.t.TempDir(), "failure.png")
		if os.WriteFile(path, png, 0o644) == nil {
			b.t.Logf("screenshot of the failure: %s", path)
		}
	}
	if len(text) > 3000 {
		text = text[:3000] + "…"
	}
	b.t.Fatalf("%s: %v\nat %s, the page says:\n%s", what, err, loc, strings.TrimSpace(text))
}
