// Package repotest is the repository contract suite: every Store adapter must
// pass it, on every database it supports.
package repotest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"cadre/app/repository"
	"cadre/domain/object"
)

// Option adjusts Run.
type Option func(*options)

type options struct {
	peer func(t *testing.T, s repository.Store) repository.Store
}

// WithPeer supplies a second handle on the same store, as another node
// process has (for a database store: another pool on the same database);
// the optimistic-locking race splits its writers between the two. Without
// it, the store is its own peer.
func WithPeer(peer func(t *testing.T, s repository.Store) repository.Store) Option {
	return func(o *options) { o.peer = peer }
}

// Run runs the contract against stores made by newStore (each call a fresh, empty database).
func Run(t *testing.T, newStore func(t *testing.T) repository.Store, opts ...Option) {
	o := options{peer: func(_ *testing.T, s repository.Store) repository.Store { return s }}
	for _, opt := range opts {
		opt(&o)
	}
	t.Run("modifies of one version on two connections: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		testConcurrentModifyPeers(t, s, o.peer(t, s))
	})
	tests := []struct {
		name string
		fn   func(t *testing.T, s repository.Store)
	}{
		{"add and get round-trip every field", testRoundTrip},
		{"names are unique per type, case-insensitively", testUniqueNames},
		{"modify bumps the version and checks the expected one", testModifyVersion},
		{"concurrent modifies of one version: exactly one wins", testConcurrentModify},
		{"delete and not found", testDelete},
		{"delete frees the name and touches nothing else", testDeleteScope},
		{"search pages in stable name order", testSearchPaging},
		{"search limits: default, cap and offsets past the end", testSearchLimits},
		{"add many adds all or none", testAddMany},
		{"search by name treats wildcards literally", testSearchWildcards},
		{"search by exact name, by substring and by cursor", testSearchCursor},
		{"search counts exactly up to the cap, then estimates", testSearchCountCap},
		{"list by OID reads one range a keyset page at a time", testListByOID},
		{"write many writes only objects still at their version", testWriteMany},
		{"get by names finds each name, whatever its characters", testGetByNames},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newUser(name string) *object.User {
	return &object.User{Meta: object.Meta{OID: uuid.NewString(), Name: name, Version: 1, CreatedAt: now, ModifiedAt: now},
		FullName: "Full " + name, EmailAddress: name + "@example.com", Enabled: true}
}

func mustAdd(t *testing.T, s repository.Store, o object.Object) {
	t.Helper()
	if err := s.Add(context.Background(), o); err != nil {
		t.Fatalf("add %s: %v", o.ObjectMeta().Name, err)
	}
}

func testRoundTrip(t *testing.T, s repository.Store) {
	ctx := context.Background()
	role := &object.Role{Meta: object.Meta{OID: uuid.NewString(), Name: "Ops", Version: 1, CreatedAt: now, ModifiedAt: now}, Authorizations: []string{"reader"}}
	mustAdd(t, s, role)
	u := newUser("alice")
	u.Roles = []string{role.OID}
	u.PasswordHash = "$2a$hash"
	mustAdd(t, s, u)
	got, err := s.Get(ctx, object.TypeUser, u.OID)
	if err != nil {
		t.Fatal(err)
	}
	g := got.(*object.User)
	if g.Name != "alice" || g.FullName != "Full alice" || g.EmailAddress != "alice@example.com" || !g.Enabled ||
		len(g.Roles) != 1 || g.Roles[0] != role.OID || g.PasswordHash != "$2a$hash" || g.Version != 1 || !g.CreatedAt.Equal(now) {
		t.Fatalf("round trip lost data: %+v", g)
	}
	byName, err := s.GetByName(ctx, object.TypeUser, "ALICE")
	if err != nil || byName.ObjectMeta().OID != u.OID {
		t.Fatalf("get by name: %v %v", byName, err)
	}
	if _, err := s.Get(ctx, object.TypeRole, u.OID); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("user OID read as a role: want ErrNotFound, got %v", err)
	}
}

func testUniqueNames(t *testing.T, s repository.Store) {
	mustAdd(t, s, newUser("bob"))
	if err := s.Add(context.Background(), newUser("BOB")); !errors.Is(err, object.ErrAlreadyExists) {
		t.Fatalf("second BOB: want ErrAlreadyExists, got %v", err)
	}
	role := &object.Role{Meta: object.Meta{OID: uuid.NewString(), Name: "bob", Version: 1, CreatedAt: now, ModifiedAt: now}}
	mustAdd(t, s, role) // same name, other type
	n, err := s.Count(context.Background(), object.TypeUser)
	if err != nil || n != 1 {
		t.Fatalf("users: want 1, got %d (%v)", n, err)
	}
}

func testModifyVersion(t *testing.T, s repository.Store) {
	ctx := context.Background()
	u := newUser("carol")
	mustAdd(t, s, u)
	later := now.Add(time.Minute)
	got, err := s.Modify(ctx, object.TypeUser, u.OID, 1, later, func(o object.Object) error {
		o.(*object.User).FullName = "Carol C."
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ObjectMeta().Version != 2 || got.(*object.User).FullName != "Carol C." || !got.ObjectMeta().ModifiedAt.Equal(later) {
		t.Fatalf("after modify: %+v", got)
	}
	_, err = s.Modify(ctx, object.TypeUser, u.OID, 1, later, func(object.Object) error { return nil })
	var conflict *object.ConflictError
	if !errors.As(err, &conflict) || conflict.Expected != 1 || conflict.Actual != 2 {
		t.Fatalf("stale version: want ConflictError{1,2}, got %v", err)
	}
	boom := errors.New("rule says no")
	if _, err := s.Modify(ctx, object.TypeUser, u.OID, 0, later, func(o object.Object) error {
		o.(*object.User).FullName = "should not stick"
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("change error: want it returned, got %v", err)
	}
	again, _ := s.Get(ctx, object.TypeUser, u.OID)
	if again.(*object.User).FullName != "Carol C." || again.ObjectMeta().Version != 2 {
		t.Fatalf("failed modify changed the object: %+v", again)
	}
	if _, err := s.Modify(ctx, object.TypeUser, uuid.NewString(), 0, later, func(object.Object) error { return nil }); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("modify unknown: want ErrNotFound, got %v", err)
	}
	other := newUser("dave")
	mustAdd(t, s, other)
	if _, err := s.Modify(ctx, object.TypeUser, other.OID, 0, later, func(o object.Object) error {
		o.ObjectMeta().Name = "Carol"
		return nil
	}); !errors.Is(err, object.ErrAlreadyExists) {
		t.Fatalf("rename onto an existing name: want ErrAlreadyExists, got %v", err)
	}
}

func testConcurrentModify(t *testing.T, s repository.Store) {
	testConcurrentModifyPeers(t, s, s)
}

// testConcurrentModifyPeers races writers of one version, split between two
// handles on the store: one wins, every other one gets a ConflictError, and
// the stored object is the winner's.
func testConcurrentModifyPeers(t *testing.T, s, peer repository.Store) {
	u := newUser("erin")
	mustAdd(t, s, u)
	const writers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	winner := ""
	for i := range writers {
		store := s
		if i%2 == 1 {
			store = peer
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("writer ", i)
			_, err := store.Modify(context.Background(), object.TypeUser, u.OID, 1, now, func(o object.Object) error {
				o.(*object.User).FullName = name
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			var conflict *object.ConflictError
			switch {
			case err == nil:
				wins++
				winner = name
			case errors.As(err, &conflict):
				conflicts++
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != writers-1 {
		t.Fatalf("want 1 win and %d conflicts, got %d and %d", writers-1, wins, conflicts)
	}
	for _, store := range []repository.Store{s, peer} {
		got, err := store.Get(context.Background(), object.TypeUser, u.OID)
		if err != nil {
			t.Fatal(err)
		}
		if got.(*object.User).FullName != winner || got.ObjectMeta().Version != 2 {
			t.Fatalf("stored %q at version %d, want the winner's %q at version 2", got.(*object.User).FullName, got.ObjectMeta().Version, winner)
		}
	}
}

func testDelete(t *testing.T, s repository.Store) {
	ctx := context.Background()
	u := newUser("frank")
	mustAdd(t, s, u)
	if err := s.Delete(ctx, object.TypeUser, u.OID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, object.TypeUser, u.OID); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("get deleted: want ErrNotFound, got %v", err)
	}
	if err := s.Delete(ctx, object.TypeUser, u.OID); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("delete twice: want ErrNotFound, got %v", err)
	}
}

func testSearchPaging(t *testing.T, s repository.Store) {
	ctx := context.Background()
	for i := 24; i >= 0; i-- { // insert out of order
		mustAdd(t, s, newUser(fmt.Sprintf("user%02d", i)))
	}
	var seen []string
	for offset := 0; offset < 25; offset += 10 {
		page, err := s.Search(ctx, object.Query{Type: object.TypeUser, Limit: 10, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 25 {
			t.Fatalf("total: want 25, got %d", page.Total)
		}
		for _, o := range page.Items {
			seen = append(seen, o.ObjectMeta().Name)
		}
	}
	if len(seen) != 25 {
		t.Fatalf("paging returned %d names, want 25", len(seen))
	}
	for i, name := range seen {
		if want := fmt.Sprintf("user%02d", i); name != want {
			t.Fatalf("position %d: want %s, got %s", i, want, name)
		}
	}
	page, err := s.Search(ctx, object.Query{Type: object.TypeUser, NameContains: "ER1"})
	if err != nil || page.Total != 10 {
		t.Fatalf("name filter ER1: want 10 (user10..user19), got %d (%v)", page.Total, err)
	}
}

func testSearchWildcards(t *testing.T, s repository.Store) {
	ctx := context.Background()
	mustAdd(t, s, newUser("a_b"))
	mustAdd(t, s, newUser("axb"))
	mustAdd(t, s, newUser("100%"))
	mustAdd(t, s, newUser("1000"))
	for _, tc := range []struct {
		q    string
		want int64
	}{{"a_b", 1}, {"_", 1}, {"0%", 1}, {"%", 1}, {"", 4}} {
		page, err := s.Search(ctx, object.Query{Type: object.TypeUser, NameContains: tc.q})
		if err != nil || page.Total != tc.want {
			t.Errorf("search %q: want %d, got %d (%v)", tc.q, tc.want, page.Total, err)
		}
	}
}

func testSearchCursor(t *testing.T, s repository.Store) {
	ctx := context.Background()
	for _, name := range []string{"jack", "blackjack", "Jackie", "jill"} {
		mustAdd(t, s, newUser(name))
	}
	for _, tc := range []struct {
		q    object.Query
		want []string
	}{
		{object.Query{Name: "JACK"}, []string{"jack"}},
		{object.Query{Name: "jac"}, nil},
		{object.Query{NameContains: "jack"}, []string{"blackjack", "jack", "Jackie"}},
	} {
		tc.q.Type = object.TypeUser
		page, err := s.Search(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range page.Items {
			got = append(got, o.ObjectMeta().Name)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || page.Total != int64(len(tc.want)) || page.Next != "" {
			t.Errorf("%+v: got %v (total %d, next %q), want %v", tc.q, got, page.Total, page.Next, tc.want)
		}
	}
	// A walk by cursor, two at a time, visits every user once, in name
	// order, and its last page says there is no next.
	var walked []string
	q := object.Query{Type: object.TypeUser, Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("the cursor walk does not end")
		}
		page, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 4 {
			t.Fatalf("total on a cursor page: want 4, got %d", page.Total)
		}
		for _, o := range page.Items {
			walked = append(walked, o.ObjectMeta().Name)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	if want := "[blackjack jack Jackie jill]"; fmt.Sprint(walked) != want {
		t.Fatalf("cursor walk: got %v, want %s", walked, want)
	}
}

func testSearchCountCap(t *testing.T, s repository.Store) {
	ctx := context.Background()
	const n = object.CountCap + 50
	users := make([]object.Object, n)
	for i := range users {
		users[i] = newUser(fmt.Sprintf("cap%05d", i))
	}
	if err := s.AddMany(ctx, users); err != nil {
		t.Fatal(err)
	}
	page, err := s.Search(ctx, object.Query{Type: object.TypeUser, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !page.TotalEstimated || page.Total < object.CountCap {
		t.Fatalf("%d users: want an estimated total of at least %d, got %d (estimated %v)", n, object.CountCap, page.Total, page.TotalEstimated)
	}
	page, err = s.Search(ctx, object.Query{Type: object.TypeUser, NameContains: "cap0000"})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalEstimated || page.Total != 10 {
		t.Fatalf("a narrow search: want exactly 10, got %d (estimated %v)", page.Total, page.TotalEstimated)
	}
}

func testListByOID(t *testing.T, s repository.Store) {
	ctx := context.Background()
	for i := range 30 {
		u := newUser(fmt.Sprintf("u%02d", i))
		u.OID = fmt.Sprintf("%02x%s", i*8, u.OID[2:]) // OIDs spread over 00… to e8…
		mustAdd(t, s, u)
	}
	mustAdd(t, s, &object.Role{Meta: object.Meta{OID: "10" + uuid.NewString()[2:], Name: "NotAUser", Version: 1, CreatedAt: now, ModifiedAt: now}})
	// [10, 80): OIDs 10…78 step 08 → 14 users, in OID order, in pages of 5.
	var got []string
	rg := object.OIDRange{Type: object.TypeUser, From: "10", To: "80", Limit: 5}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("keyset paging does not end")
		}
		page, err := s.ListByOID(ctx, rg)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			got = append(got, o.ObjectMeta().OID[:2])
		}
		if len(page) < rg.Limit {
			break
		}
		rg.After = page[len(page)-1].ObjectMeta().OID
	}
	want := []string{"10", "18", "20", "28", "30", "38", "40", "48", "50", "58", "60", "68", "70", "78"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("OID prefixes listed = %v, want %v", got, want)
	}
	all, err := s.ListByOID(ctx, object.OIDRange{Type: object.TypeUser})
	if err != nil || len(all) != 30 {
		t.Fatalf("open range listed %d users (%v), want 30", len(all), err)
	}
}

func testWriteMany(t *testing.T, s repository.Store) {
	ctx := context.Background()
	a, b := newUser("a"), newUser("b")
	mustAdd(t, s, a)
	mustAdd(t, s, b)
	readA, _ := s.Get(ctx, object.TypeUser, a.OID)
	readB, _ := s.Get(ctx, object.TypeUser, b.OID)
	// b changes behind the writer's back.
	if _, err := s.Modify(ctx, object.TypeUser, b.OID, 0, now, func(o object.Object) error {
		o.(*object.User).FullName = "changed meanwhile"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	readA.(*object.User).GivenName = "Ann"
	readB.(*object.User).GivenName = "Bob"
	written, err := s.WriteMany(ctx, []object.Object{readA, readB}, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 2 || !written[0] || written[1] {
		t.Fatalf("written = %v, want [true false]", written)
	}
	gotA, _ := s.Get(ctx, object.TypeUser, a.OID)
	if u := gotA.(*object.User); u.GivenName != "Ann" || u.Version != 2 {
		t.Fatalf("a after write = given %q version %d, want Ann at version 2", u.GivenName, u.Version)
	}
	gotB, _ := s.Get(ctx, object.TypeUser, b.OID)
	if u := gotB.(*object.User); u.GivenName == "Bob" || u.FullName != "changed meanwhile" || u.Version != 2 {
		t.Fatalf("b after write = %+v, want the other change kept and no GivenName", u)
	}
	if readA.ObjectMeta().Version != 2 {
		t.Fatalf("written object carries version %d, want 2", readA.ObjectMeta().Version)
	}
}

func testGetByNames(t *testing.T, s repository.Store) {
	ctx := context.Background()
	names := []string{`plain`, `with "quotes"`, `back\\slash`, `comma,brace{}`, `NULL`, `Ünïcode`}
	for _, n := range names {
		mustAdd(t, s, newUser(n))
	}
	got, err := s.GetByNames(ctx, object.TypeUser, append([]string{"missing"}, names...))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) {
		t.Fatalf("found %d users, want %d: %v", len(got), len(names), got)
	}
	for _, n := range names {
		if o, ok := got[object.NormalizeName(n)]; !ok || o.ObjectMeta().Name != n {
			t.Errorf("name %q: got %v", n, o)
		}
	}
}

func testDeleteScope(t *testing.T, s repository.Store) {
	ctx := context.Background()
	u, keep := newUser("gina"), newUser("hank")
	mustAdd(t, s, u)
	mustAdd(t, s, keep)
	if err := s.Delete(ctx, object.TypeRole, u.OID); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("delete of a user's OID as a role: want ErrNotFound, got %v", err)
	}
	if err := s.Delete(ctx, object.TypeUser, u.OID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx, object.TypeUser); err != nil || n != 1 {
		t.Fatalf("count after delete = %d (%v), want 1", n, err)
	}
	if _, err := s.Get(ctx, object.TypeUser, keep.OID); err != nil {
		t.Fatalf("the other user after delete: %v", err)
	}
	if _, err := s.Modify(ctx, object.TypeUser, u.OID, 0, now, func(object.Object) error { return nil }); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("modify of a deleted object: want ErrNotFound, got %v", err)
	}
	// The name is free again, for a new object with a new OID.
	mustAdd(t, s, newUser("Gina"))
}

func testSearchLimits(t *testing.T, s repository.Store) {
	ctx := context.Background()
	const total = 1005
	users := make([]object.Object, total)
	for i := range users {
		users[i] = newUser(fmt.Sprintf("bulk%04d", i))
	}
	if err := s.AddMany(ctx, users); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		limit, offset int
		items         int
		first         string
	}{
		{"no limit gives 50", 0, 0, 50, "bulk0000"},
		{"a limit over 1000 is capped", 5000, 0, 1000, "bulk0000"},
		{"the last partial page", 10, 1000, 5, "bulk1000"},
		{"an offset past the end", 10, 2000, 0, ""},
		{"a negative offset starts at the beginning", 3, -5, 3, "bulk0000"},
	} {
		page, err := s.Search(ctx, object.Query{Type: object.TypeUser, Limit: tc.limit, Offset: tc.offset})
		if err != nil {
			t.Fatal(err)
		}
		first := ""
		if len(page.Items) > 0 {
			first = page.Items[0].ObjectMeta().Name
		}
		if page.Total != total || len(page.Items) != tc.items || first != tc.first {
			t.Errorf("%s: total %d, %d items from %q; want %d, %d from %q", tc.name, page.Total, len(page.Items), first, total, tc.items, tc.first)
		}
	}
}

func testAddMany(t *testing.T, s repository.Store) {
	ctx := context.Background()
	mustAdd(t, s, newUser("taken"))
	batch := []object.Object{newUser("new1"), newUser("TAKEN"), newUser("new2")}
	if err := s.AddMany(ctx, batch); !errors.Is(err, object.ErrAlreadyExists) {
		t.Fatalf("add many with a taken name: want ErrAlreadyExists, got %v", err)
	}
	if n, _ := s.Count(ctx, object.TypeUser); n != 1 {
		t.Fatalf("%d users after a failed batch, want 1: none of the batch may stay", n)
	}
	if err := s.AddMany(ctx, []object.Object{newUser("new1"), newUser("new2")}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, object.TypeUser); n != 3 {
		t.Fatalf("%d users after a good batch, want 3", n)
	}
}
