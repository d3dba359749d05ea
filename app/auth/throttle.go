package auth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"cadre/domain/object"
	"cadre/domain/security"
)

// FailureStore keeps failed-login counts in the repository, so every node
// of the cluster sees the same counts.
type FailureStore interface {
	LoginFailuresAdd(ctx context.Context, key string, now time.Time, window time.Duration) (security.LoginFailures, error)
	LoginFailuresGet(ctx context.Context, keys []string) ([]security.LoginFailures, error)
	LoginFailuresClear(ctx context.Context, key string) error
	LoginFailuresDeleteBefore(ctx context.Context, t time.Time) error
}

// Throttle limits password guessing: at most PerUser failed logins for one
// user name (known or not) and PerClient from one client address in a
// Window; beyond that, logins of that user or from that client are refused
// with *security.ThrottledError until the window ends, even with the right
// password. A successful login clears the user's count.
type Throttle struct {
	Store FailureStore
	// PerUser is the failures allowed per user name in a window; default 10.
	PerUser int
	// PerClient is the failures allowed per client address in a window; default 50.
	PerClient int
	// Window is how long failures count; default 5 minutes.
	Window time.Duration
}

func (t *Throttle) limits() (perUser, perClient int, window time.Duration) {
	perUser, perClient, window = t.PerUser, t.PerClient, t.Window
	if perUser <= 0 {
		perUser = 10
	}
	if perClient <= 0 {
		perClient = 50
	}
	if window <= 0 {
		window = 5 * time.Minute
	}
	return perUser, perClient, window
}

func userKey(name string) string { return "user:" + object.NormalizeName(name) }

func clientKey(client string) string { return "client:" + client }

// keys are the throttle keys of an attempt; an unknown client has none.
func keys(username, client string) []string {
	k := []string{userKey(username)}
	if client != "" {
		k = append(k, clientKey(client))
	}
	return k
}

// check returns how long the attempt must wait (0: go ahead) and whether the
// user has failures to clear after a success.
func (t *Throttle) check(ctx context.Context, username, client string, now time.Time) (wait time.Duration, userFailed bool, err error) {
	perUser, perClient, window := t.limits()
	counts, err := t.Store.LoginFailuresGet(ctx, keys(username, client))
	if err != nil {
		return 0, false, err
	}
	for _, f := range counts {
		limit := perClient
		if strings.HasPrefix(f.Key, "user:") {
			limit, userFailed = perUser, true
		}
		if end := f.WindowStart.Add(window); f.Failures >= limit && end.After(now) {
			wait = max(wait, end.Sub(now))
		}
	}
	return wait, userFailed, nil
}

// failed counts a failed attempt against the user and the client, and now
// and then drops windows that have ended.
func (t *Throttle) failed(ctx context.Context, username, client string, now time.Time) error {
	_, _, window := t.limits()
	for _, k := range keys(username, client) {
		if _, err := t.Store.LoginFailuresAdd(ctx, k, now, window); err != nil {
			return err
		}
	}
	if rand.N(64) == 0 {
		if err := t.Store.LoginFailuresDeleteBefore(ctx, now.Add(-window)); err != nil {
			return fmt.Errorf("drop ended login-failure windows: %w", err)
		}
	}
	return nil
}

// bcryptSlots bounds concurrent bcrypt comparisons to the number of CPUs, so
// a flood of wrong passwords queues instead of taking every core; requests
// whose credentials are already verified (the Basic cache) and session
// requests need no slot.
var bcryptSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// dummyHash is compared against when the user does not exist or has no
// password, so that such an attempt costs the same bcrypt work as a real
// one and timing does not tell which user names exist.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("cadre dummy password"), bcrypt.DefaultCost)
	if err != nil {
		panic(err)
	}
	return h
})

// comparePassword runs one bcrypt comparison in a slot; hash "" compares
// against dummyHash and always fails.
func comparePassword(ctx context.Context, hash, password string) (bool, error) {
	select {
	case bcryptSlots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-bcryptSlots }()
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false, nil
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil, nil
}
