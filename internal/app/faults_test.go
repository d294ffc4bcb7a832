package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// TestALoginSurvivesAStallALockAndAFullDisk is the scenario a user meets:
// while a client sends a request through the proxy every 0.5 s, the token
// endpoint stalls once during the scheduled refresh while another process
// holds the credentials lock, then the disk fills up for three refreshes.
// Every request must succeed, every token the API sees must be live, and
// the server must never see a refresh token twice (it would revoke the
// grant). The clock is fake; the file store, the lock, the token endpoint
// and the API are real sockets and files.
func TestALoginSurvivesAStallALockAndAFullDisk(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clock := clockwork.NewFakeClockAt(now)
	srv := fake.NewOAuthServer(fake.WithClock(clock), fake.WithClientID("ccproxy"), fake.WithAccessTTL(10*time.Minute),
		fake.WithAccessRevokedOnRefresh())
	defer srv.Close()
	up := fake.NewUpstream(fake.UpstreamOptions{Accept: srv.ValidAccessToken})
	api := httptest.NewServer(up)
	defer api.Close()

	cfg := config.Default()
	cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: srv.Issuer(), ClientID: "ccproxy", APIBase: api.URL}
	off := false
	for _, p := range []string{"claude", "codex", "copilot"} {
		cfg.Providers[p] = config.Provider{Enabled: &off}
	}
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Minute}

	dir := t.TempDir()
	// A short lock timeout keeps the real-time lock waits of this test
	// short; the behaviour is the same as with the default 10 s.
	disk, err := store.NewFile(dir, store.WithLockTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	faulty := store.NewFaulty(disk)
	serve, err := New(Options{Config: cfg, Store: faulty, Clock: clock, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	// The other process: its own handle on the folder, so its lock is a
	// separate flock exactly as another process's would be.
	otherDisk, err := store.NewFile(dir, store.WithLockTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(Options{Config: cfg, Store: otherDisk, Clock: clock, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}

	// A login: an expired record whose refresh token the server knows;
	// the first request renews it.
	seed := auth.Credentials{Provider: "corp", AccessToken: "seed-access-token-0123456789abcdef",
		RefreshToken: srv.IssueRefreshToken("ccproxy", ""), ExpiresAt: now.Add(-time.Minute), ObtainedAt: now.Add(-time.Hour)}
	blob, _ := seed.Marshal()
	if err := disk.Save(ctx, store.AccountKey("corp", "default"), blob); err != nil {
		t.Fatal(err)
	}

	events, unsubscribe := serve.AuthEvents(4096)
	defer unsubscribe()
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() { defer close(runDone); serve.Run(runCtx) }()
	defer func() { stopRun(); <-runDone }()
	proxy := httptest.NewServer(serve.Proxy().Handler())
	defer proxy.Close()

	requests := 0
	request := func() {
		t.Helper()
		resp, err := client.Post(proxy.URL+"/corp/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m"}`))
		if err != nil {
			t.Fatalf("request %d at %v: %v", requests, clock.Now(), err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d at %v: %d %s", requests, clock.Now().Sub(now), resp.StatusCode, body)
		}
		requests++
	}
	// tick moves time on by 0.5 s, lets the scheduler finish whatever came
	// due (it is asleep on the clock again), and sends one request.
	tick := func() {
		t.Helper()
		clock.Advance(500 * time.Millisecond)
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatalf("scheduler never went back to sleep: %v", err)
		}
		request()
	}
	status := func() auth.Status {
		st, err := serve.Status(ctx, "corp")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	request()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	planned := status().NextRefresh
	if planned.IsZero() {
		t.Fatalf("no refresh planned after the login: %+v", status())
	}

	// Phase 1: just before the scheduled refresh, another process takes
	// the lock and its token call stalls.
	for clock.Now().Before(planned.Add(-2 * time.Second)) {
		tick()
	}
	srv.InjectTokenFault(fake.FaultStall(), 1)
	stalled := srv.StallSeen()
	type result struct {
		err  error
		done time.Time
	}
	otherDone := make(chan result, 1)
	go func() {
		_, err := other.Refresh(ctx, "corp")
		otherDone <- result{err, time.Now()}
	}()
	select {
	case <-stalled:
	case <-ctx.Done():
		t.Fatal("the other process never reached the token endpoint")
	}
	lockWaits := 0
	for clock.Now().Before(planned.Add(30 * time.Second)) {
		tick()
		st := status()
		if st.State == auth.StateNeedsLogin || (st.NextRefresh.IsZero() && st.NextAttempt.IsZero()) {
			t.Fatalf("at %v the scheduler parked a valid token: state %s, %q", clock.Now().Sub(now), st.State, st.Reason)
		}
		for _, e := range drainEvents(events) {
			if e.Kind == auth.RefreshFailed && errors.Is(e.Err, store.ErrLockTimeout) {
				lockWaits++
			}
		}
	}
	if lockWaits == 0 {
		t.Fatal("the scheduled refresh never met the held lock")
	}
	// The stall ends: the other process rotates and writes; this process
	// must take the new token before its next request (the server ended
	// the old one).
	srv.ReleaseStalls()
	res := <-otherDone
	if res.err != nil {
		t.Fatalf("the other process's refresh: %v", res.err)
	}
	if !waitEvent(ctx, events, func(e auth.Event) bool {
		return e.Kind == auth.RefreshSucceeded && strings.Contains(e.Message, "another process")
	}) {
		t.Fatal("the refresh made by the other process was never seen")
	}
	visible := time.Since(res.done) // an upper bound: the event may have waited in the channel
	if visible > time.Second {
		t.Errorf("another process's refresh took %v to be seen, want < 1s", visible)
	}
	tick()
	phase1 := srv.Counts()

	// Phase 2: the disk is full for three refreshes.
	faulty.SetFull(true)
	for srv.Counts().Refresh < phase1.Refresh+3 {
		tick()
		if requests > 20000 {
			t.Fatal("three refreshes never happened on the full disk")
		}
	}
	if got := readStored(t, disk); got.RefreshToken == srv.LastRefreshToken() {
		t.Fatal("the full disk took a record")
	}
	_, refusedWrites := faulty.Writes()
	faulty.SetFull(false)
	flushed := clock.Now()
	for readStored(t, disk).RefreshToken != srv.LastRefreshToken() {
		tick()
		if clock.Since(flushed) > time.Minute {
			t.Fatal("the credentials kept in memory were not written within a minute of the disk recovering")
		}
	}
	writtenAfter := clock.Since(flushed)
	// One more ordinary refresh, to prove the grant is alive.
	before := srv.Counts().Refresh
	for srv.Counts().Refresh == before {
		tick()
	}
	tick()

	final := srv.Counts()
	t.Logf("%d requests, all 200; token endpoint: %d calls, %d refreshes, %d reuse; API refused %d tokens; "+
		"%d refreshes met the held lock; another process's refresh seen after %v; %d writes refused by the full disk; "+
		"kept credentials written %v after the disk recovered",
		requests, final.Token, final.Refresh, final.Reuse, up.Refused(), lockWaits, visible.Round(time.Millisecond), refusedWrites, writtenAfter)
	if final.Reuse != 0 || srv.Revoked(srv.LastRefreshToken()) {
		t.Errorf("the server saw %d reused refresh tokens; grant revoked: %v", final.Reuse, srv.Revoked(srv.LastRefreshToken()))
	}
	if up.Refused() != 0 {
		t.Errorf("the API was sent %d tokens that were not live", up.Refused())
	}
	if final.Token-final.Refresh != 0 {
		t.Errorf("%d token calls failed or were refused", final.Token-final.Refresh)
	}
}

func drainEvents(ch <-chan auth.Event) []auth.Event {
	var out []auth.Event
	for {
		select {
		case e := <-ch:
			out = append(out, e)
		default:
			return out
		}
	}
}

// waitEvent blocks until an event matching ok arrives or ctx ends.
func waitEvent(ctx context.Context, ch <-chan auth.Event, ok func(auth.Event) bool) bool {
	for {
		select {
		case e := <-ch:
			if ok(e) {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
}

func readStored(t *testing.T, s store.Store) auth.Credentials {
	t.Helper()
	blob, err := s.Load(context.Background(), store.AccountKey("corp", "default"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := auth.UnmarshalCredentials(blob)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A burst of upstream 401s for one access token costs one refresh, and
// while the token endpoint fails, further 401s inside its back-off cost no
// token call at all.
func TestProxyRefreshesOncePerRejectedToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clock := clockwork.NewFakeClockAt(now)
	srv := fake.NewOAuthServer(fake.WithClock(clock), fake.WithClientID("ccproxy"))
	defer srv.Close()
	up := fake.NewUpstream(fake.UpstreamOptions{Accept: srv.ValidAccessToken})
	api := httptest.NewServer(up)
	defer api.Close()
	cfg := config.Default()
	cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: srv.Issuer(), ClientID: "ccproxy", APIBase: api.URL}
	transport := &http.Transport{MaxIdleConnsPerHost: 128}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	mem := store.NewMemory()
	a, err := New(Options{Config: cfg, Store: mem, Clock: clock, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	seed := auth.Credentials{Provider: "corp", AccessToken: "seed-access-token-0123456789abcdef",
		RefreshToken: srv.IssueRefreshToken("ccproxy", ""), ExpiresAt: now.Add(-time.Minute), ObtainedAt: now.Add(-time.Hour)}
	if _, err := a.Adopt(ctx, "", seed); err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(a.Proxy().Handler())
	defer proxy.Close()
	post := func() int {
		resp, err := client.Post(proxy.URL+"/corp/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m"}`))
		if err != nil {
			t.Error(err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusOK {
		t.Fatalf("first request: %d", code)
	}
	live, err := a.Token(ctx, "corp")
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Counts()

	// The API turns the live token down, as after a revocation on its side.
	up.RejectToken(live)
	codes := make(chan int, 100)
	for range 100 {
		go func() { codes <- post() }()
	}
	for range 100 {
		if code := <-codes; code != http.StatusOK {
			t.Fatalf("a rejected request was not retried with the new token: %d", code)
		}
	}
	burst := srv.Counts()
	if n := burst.Refresh - before.Refresh; n != 1 || burst.Token-before.Token != 1 {
		t.Errorf("100 concurrent 401s for one token made %d refreshes (%d token calls), want 1", n, burst.Token-before.Token)
	}
	for range 100 {
		if code := post(); code != http.StatusOK {
			t.Fatalf("sequential request: %d", code)
		}
	}
	if n := srv.Counts().Refresh - burst.Refresh; n != 0 {
		t.Errorf("100 sequential requests after the burst made %d refreshes, want 0", n)
	}

	// Now the token endpoint fails: ten 401s make one token call.
	current, _ := a.Token(ctx, "corp")
	up.RejectToken(current)
	srv.InjectTokenFault(fake.FaultUnavailable(), 100)
	failing := srv.Counts().Token
	for range 10 {
		if code := post(); code != http.StatusServiceUnavailable {
			t.Fatalf("with the token endpoint down: %d, want 503", code)
		}
	}
	if n := srv.Counts().Token - failing; n != 1 {
		t.Errorf("10 rejected requests against a failing token endpoint made %d token calls, want 1", n)
	}
	t.Logf("100 concurrent 401s: %d refresh; 100 sequential requests after: 0; 10 401s with the token endpoint at 503: %d token call",
		burst.Refresh-before.Refresh, srv.Counts().Token-failing)
}

// What the dashboard is built on (App.Run, its events and Statuses) follows
// a login and a logout made by another process within a second.
func TestRunningAppFollowsAnotherProcessWithinASecond(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dashboard, other := twoProcesses(t)
	events, unsubscribe := dashboard.AuthEvents(64)
	defer unsubscribe()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); dashboard.Run(runCtx) }()
	defer func() { stop(); <-done }()

	measure := func(what string, act func() error, kind auth.EventKind) time.Duration {
		t.Helper()
		start := time.Now()
		if err := act(); err != nil {
			t.Fatalf("%s in the other process: %v", what, err)
		}
		if !waitEvent(ctx, events, func(e auth.Event) bool { return e.Provider == "corp" && e.Kind == kind }) {
			t.Fatalf("the %s made elsewhere was never announced", what)
		}
		return time.Since(start)
	}
	login := auth.Credentials{Provider: "corp", AccessToken: "elsewhere-access-token-0123456789",
		RefreshToken: "elsewhere-refresh", ExpiresAt: time.Now().Add(time.Hour), ObtainedAt: time.Now()}
	in := measure("login", func() error { _, err := other.Adopt(ctx, "", login); return err }, auth.LoginSucceeded)
	if st, err := dashboard.Status(ctx, "corp"); err != nil || !st.Authenticated {
		t.Fatalf("after a login elsewhere: %+v %v", st, err)
	}
	out := measure("logout", func() error { _, err := other.Logout(ctx, "corp"); return err }, auth.LoggedOut)
	if st, _ := dashboard.Status(ctx, "corp"); st.Authenticated {
		t.Fatal("after a logout elsewhere the dashboard still says authenticated")
	}
	t.Logf("login seen after %v, logout after %v", in.Round(time.Millisecond), out.Round(time.Millisecond))
	for what, d := range map[string]time.Duration{"login": in, "logout": out} {
		if d >= time.Second {
			t.Errorf("the %s took %v to be seen, want < 1s", what, d)
		}
	}
}

// A login another process makes after this App has read the store but
// before its watch is in place is still followed: the watch starts by
// having everything read again.
func TestLoginMadeBeforeTheWatchStartsIsFollowed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dashboard, other := twoProcesses(t)
	if st, err := dashboard.Status(ctx, "corp"); err != nil || st.Authenticated {
		t.Fatalf("before any login: %+v %v", st, err)
	}
	events, unsubscribe := dashboard.AuthEvents(64)
	defer unsubscribe()
	login := auth.Credentials{Provider: "corp", AccessToken: "elsewhere-access-token-0123456789",
		RefreshToken: "elsewhere-refresh", ExpiresAt: time.Now().Add(time.Hour), ObtainedAt: time.Now()}
	if _, err := other.Adopt(ctx, "", login); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); dashboard.Run(runCtx) }()
	defer func() { stop(); <-done }()
	if !waitEvent(ctx, events, func(e auth.Event) bool { return e.Provider == "corp" && e.Kind == auth.LoginSucceeded }) {
		t.Fatal("the login made before Run was never announced")
	}
	if st, err := dashboard.Status(ctx, "corp"); err != nil || !st.Authenticated {
		t.Fatalf("after Run: %+v %v", st, err)
	}
}

// twoProcesses is two Apps on one credentials folder, each with its own
// store handle as each process has: a dashboard, and the other process.
func twoProcesses(t *testing.T) (dashboard, other *App) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: "http://127.0.0.1:9/", ClientID: "ccproxy", APIBase: "http://127.0.0.1:9/"}
	open := func() *App {
		disk, err := store.NewFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(Options{Config: cfg, Store: disk})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	return open(), open()
}
