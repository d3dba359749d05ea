package webui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/object"
	"cadre/domain/security"
	"cadre/infrastructure/gormrepo"
	"cadre/interfaces/httpapi"
	"cadre/interfaces/webui"
)

const adminPassword = "Secret123!"

// env is one node's web UI over a fresh SQLite repository.
type env struct {
	srv       *httptest.Server
	repo      *repository.Service
	system    security.Principal // superuser principal for arranging data
	readerOID string             // the Reader role
	log       *logBuffer
}

type options struct {
	info func(ctx context.Context) webui.NodeInfo
	// deps changes the web UI's dependencies before they are registered.
	deps func(d *webui.Deps)
}

func setup(t *testing.T, opts ...func(*options)) *env {
	t.Helper()
	o := options{info: func(context.Context) webui.NodeInfo {
		return webui.NodeInfo{NodeID: "node1", URL: "http://node1.example:8080", Database: "sqlite",
			Started: time.Now().Add(-90 * time.Minute), Version: "0.1.0-test"}
	}}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))

	d, err := db.Open(ctx, db.Options{URL: dbtest.URL(t, "sqlite")})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), "create", "upgrade", log); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	store := gormrepo.New(d)
	repo := repository.NewService(store, auth.BcryptHasher{Cost: bcrypt.MinCost}, time.Now, log)
	authn := auth.NewService(store, store, "node1", time.Now)
	repo.OnChange(func(ctx context.Context, c repository.Change) {
		effect, user := auth.EffectOf(c)
		if err := authn.Apply(ctx, effect, user); err != nil {
			t.Errorf("apply session effect: %v", err)
		}
	})
	if _, err := repo.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	engine, _ := httpapi.NewRouter(httpapi.Deps{NodeID: "node1", Repo: repo, Auth: authn, Log: log,
		Ready: func(context.Context) error { return nil }})
	deps := webui.Deps{NodeID: "node1", Repo: repo, Auth: authn, Log: log, Info: o.info}
	if o.deps != nil {
		o.deps(&deps)
	}
	webui.Register(engine, deps)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)

	reader, err := store.GetByName(ctx, object.TypeRole, "Reader")
	if err != nil {
		t.Fatalf("reader role: %v", err)
	}
	return &env{srv: srv, repo: repo, readerOID: reader.ObjectMeta().OID, log: logs,
		system: security.Principal{Name: "test", Authorizations: []string{object.AuthSuperuser}}}
}

// addUser stores a user with a password and the given roles.
func (e *env) addUser(t *testing.T, name, password string, roles ...string) *object.User {
	t.Helper()
	o, err := e.repo.Add(context.Background(), e.system, repository.AddInput{
		Object:   &object.User{Meta: object.Meta{Name: name}, FullName: "Full " + name, Enabled: true, Roles: roles},
		Password: password,
	})
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	return o.(*object.User)
}

func (e *env) user(t *testing.T, oid string) *object.User {
	t.Helper()
	o, err := e.repo.Get(context.Background(), e.system, object.TypeUser, oid)
	if err != nil {
		t.Fatalf("get user %s: %v", oid, err)
	}
	return o.(*object.User)
}

func (e *env) userByName(t *testing.T, name string) *object.User {
	t.Helper()
	page, err := e.repo.Search(context.Background(), e.system, object.Query{Type: object.TypeUser, Name: name})
	if err != nil {
		t.Fatalf("search user %s: %v", name, err)
	}
	for _, o := range page.Items {
		if o.ObjectMeta().Name == name {
			return o.(*object.User)
		}
	}
	t.Fatalf("no user %s", name)
	return nil
}

// browser is one person's browser: a cookie jar, no automatic redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *env) browser(t *testing.T) *browser {
	t.Helper()
	return newBrowser(t, e.srv.URL)
}

// newBrowser is a browser for the server at base.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	body   string
	header http.Header
	resp   *http.Response
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("read %s: %v", req.URL, err)
	}
	return page{status: resp.StatusCode, body: string(body), header: resp.Header, resp: resp}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form; headers are name, value pairs.
func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// login logs in through the form and checks the redirect to the dashboard.
func (b *browser) login(user, password string) page {
	b.t.Helper()
	p := b.post("/ui/login", url.Values{"username": {user}, "password": {password}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/" {
		b.t.Fatalf("login %s: got %d to %q, want 303 to /ui/\n%s", user, p.status, p.header.Get("Location"), p.body)
	}
	return p
}

var (
	csrfRe    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	versionRe = regexp.MustCompile(`name="version" value="(\d+)"`)
)

// field returns the first value the regexp captures in the page.
func (p page) field(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("page has no %s\n%s", re, p.body)
	}
	return m[1]
}

func (p page) expect(t *testing.T, status int, texts ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d\n%s", p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("page does not contain %q\n%s", s, p.body)
		}
	}
}

func (p page) redirectsTo(t *testing.T, location string) {
	t.Helper()
	if p.status != http.StatusSeeOther && p.status != http.StatusFound {
		t.Fatalf("status %d, want a redirect to %s\n%s", p.status, location, p.body)
	}
	if got := p.header.Get("Location"); got != location {
		t.Fatalf("redirect to %q, want %q", got, location)
	}
}

// logBuffer collects the node log, to check what reaches it.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
