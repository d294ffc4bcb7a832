package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
	"github.com/jonboulle/clockwork"
)

var lcT0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

const lcClient = "lifecycle-test"

// lcProvider is a fake rotating OAuth server, a Config pointing at it and a
// memory store, all on one fake clock.
type lcProvider struct {
	srv   *fake.OAuthServer
	clock *clockwork.FakeClock
	cfg   *Config
	store store.Store
	bus   *Bus
}

func newLCProvider(t *testing.T) *lcProvider {
	t.Helper()
	clock := clockwork.NewFakeClockAt(lcT0)
	srv := fake.NewOAuthServer(fake.WithClock(clock), fake.WithClientID(lcClient))
	t.Cleanup(srv.Close)
	return &lcProvider{
		srv:   srv,
		clock: clock,
		cfg: &Config{
			Provider: "demo",
			ClientID: lcClient,
			TokenURL: srv.TokenURL(),
			// No keep-alive: no client goroutine outlives a test.
			HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second},
			Clock:      clock,
		},
		store: store.NewMemory(),
		bus:   NewBus(),
	}
}

// seed stores credentials whose access token expires at exp and whose
// refresh token the server will accept once.
func (p *lcProvider) seed(t *testing.T, exp time.Time) Credentials {
	t.Helper()
	c := Credentials{
		Provider:     "demo",
		AccessToken:  "seeded-access-token-0123456789",
		RefreshToken: p.srv.IssueRefreshToken(lcClient, ""),
		ExpiresAt:    exp,
		ObtainedAt:   exp.Add(-time.Hour),
		Email:        "user@example.com",
	}
	blob, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.store.Save(context.Background(), "demo", blob); err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *lcProvider) manager(r Refresher) *Manager {
	if r == nil {
		r = p.cfg
	}
	return NewManager(ManagerOptions{Provider: "demo", Refresher: r, Store: p.store, Clock: p.clock, Bus: p.bus})
}

func (p *lcProvider) stored(t *testing.T) Credentials {
	t.Helper()
	blob, err := p.store.Load(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	c, err := UnmarshalCredentials(blob)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// invalidGrants is how many token-endpoint calls the server refused.
func (p *lcProvider) invalidGrants() int {
	c := p.srv.Counts()
	return c.Token - c.Refresh - c.Exchange
}

// drain returns the events published so far.
func drain(ch <-chan Event) []Event {
	var out []Event
	for {
		select {
		case e := <-ch:
			out = append(out, e)
		default:
			return out
		}
	}
}

func kinds(evs []Event) []EventKind {
	out := make([]EventKind, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

func TestTokenThousandCallersShareOneRefresh(t *testing.T) {
	p := newLCProvider(t)
	old := p.seed(t, lcT0.Add(-time.Minute)) // already expired
	m := p.manager(nil)

	const callers = 1000
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		tokens = make([]string, callers)
		errs   = make([]error, callers)
	)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tokens[i], errs[i] = m.Token(context.Background())
		}()
	}
	close(start)
	wg.Wait()

	if n := p.srv.Counts().Token; n != 1 {
		t.Fatalf("token endpoint calls = %d, want exactly 1", n)
	}
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if tokens[i] != tokens[0] {
			t.Fatalf("caller %d got %s, caller 0 got %s", i, MaskAccess(tokens[i]), MaskAccess(tokens[0]))
		}
	}
	if tokens[0] == old.AccessToken || !p.srv.ValidAccessToken(tokens[0]) {
		t.Fatalf("callers got %s, not a fresh token from the server", MaskAccess(tokens[0]))
	}
	if got := p.stored(t); got.RefreshToken != p.srv.LastRefreshToken() || got.AccessToken != tokens[0] {
		t.Errorf("store holds refresh %s, want the rotated %s", MaskRefresh(got.RefreshToken), MaskRefresh(p.srv.LastRefreshToken()))
	}
}

func TestTokenRefreshesOnlyWhenNeeded(t *testing.T) {
	for _, tc := range []struct {
		name      string
		expiresIn time.Duration
		wantCalls int
	}{
		{"valid beyond grace is served from the store", time.Hour, 0},
		{"inside the grace window is refreshed", time.Minute, 1},
		{"expired is refreshed", -time.Minute, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newLCProvider(t)
			seeded := p.seed(t, lcT0.Add(tc.expiresIn))
			m := p.manager(nil)
			tok, err := m.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n := p.srv.Counts().Token; n != tc.wantCalls {
				t.Errorf("token endpoint calls = %d, want %d", n, tc.wantCalls)
			}
			if fresh := tok != seeded.AccessToken; fresh != (tc.wantCalls == 1) {
				t.Errorf("got fresh token = %v, want %v", fresh, tc.wantCalls == 1)
			}
		})
	}
}

func TestTokenWithoutCredentialsNeedsLogin(t *testing.T) {
	p := newLCProvider(t)
	m := p.manager(nil)
	_, err := m.Token(context.Background())
	if !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("err = %v, want ErrLoginRequired", err)
	}
	if !strings.Contains(err.Error(), "ccproxy-tui auth login demo") {
		t.Errorf("error %q does not say how to log in", err)
	}
}

// A running serve must pick up a login made by `auth login` in another
// terminal at once, not after the cache expires: "not logged in" is never
// served from the cache.
func TestLoginByAnotherProcessIsSeenAtOnce(t *testing.T) {
	p := newLCProvider(t)
	m := p.manager(nil)
	if _, err := m.Token(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("before login: err = %v, want ErrLoginRequired", err)
	}
	// Another process saves credentials straight into the shared store; the
	// clock does not move, so a cached "not logged in" would still be fresh.
	want := p.seed(t, lcT0.Add(time.Hour))
	got, err := m.Token(context.Background())
	if err != nil {
		t.Fatalf("after login elsewhere: %v", err)
	}
	if got != want.AccessToken {
		t.Errorf("token = %s, want the one stored by the other process", MaskAccess(got))
	}
}

func TestTokenServesValidTokenWhenRefreshFailsTransiently(t *testing.T) {
	p := newLCProvider(t)
	seeded := p.seed(t, lcT0.Add(time.Minute)) // inside grace, still valid
	m := p.manager(nil)
	events, cancel := p.bus.Subscribe(16)
	defer cancel()
	p.srv.InjectTokenFault(fake.FaultServerError(), 100)

	tok, err := m.Token(context.Background())
	if err != nil || tok != seeded.AccessToken {
		t.Fatalf("Token = %s, %v; want the still-valid token and no error", MaskAccess(tok), err)
	}
	st := m.Status(context.Background())
	if st.LastError == "" || st.State == StateNeedsLogin {
		t.Errorf("status after a temporary failure: state %s, last error %q", st.State, st.LastError)
	}
	if got := kinds(drain(events)); fmt.Sprint(got) != fmt.Sprint([]EventKind{RefreshStarted, RefreshFailed}) {
		t.Errorf("events = %v", got)
	}

	// Within the back-off, further calls do not hammer the token endpoint.
	calls := p.srv.Counts().Token
	for range 10 {
		if _, err := m.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.srv.Counts().Token; n != calls {
		t.Errorf("token endpoint calls went from %d to %d inside the back-off", calls, n)
	}

	// Once the token has expired, the failure is the caller's.
	p.clock.Advance(2 * time.Minute)
	_, err = m.Token(context.Background())
	if !errors.Is(err, ErrTransient) || errors.Is(err, ErrLoginRequired) {
		t.Fatalf("err = %v, want ErrTransient", err)
	}
}

func TestRefusedRefreshTokenNeedsLoginUntilSave(t *testing.T) {
	p := newLCProvider(t)
	seeded := p.seed(t, lcT0.Add(-time.Minute))
	p.srv.RevokeRefreshToken(seeded.RefreshToken)
	m := p.manager(nil)
	events, cancel := p.bus.Subscribe(16)
	defer cancel()

	_, err := m.Token(context.Background())
	if !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("err = %v, want ErrLoginRequired", err)
	}
	if got := kinds(drain(events)); fmt.Sprint(got) != fmt.Sprint([]EventKind{RefreshStarted, RefreshFailed, NeedsLogin}) {
		t.Errorf("events = %v", got)
	}
	st := m.Status(context.Background())
	if st.State != StateNeedsLogin || st.Authenticated {
		t.Errorf("status = %s authenticated=%v, want needs_login, not authenticated", st.State, st.Authenticated)
	}
	// The refused token is not offered to the server again.
	calls := p.srv.Counts().Token
	for range 5 {
		if _, err := m.Token(context.Background()); !errors.Is(err, ErrLoginRequired) {
			t.Fatalf("err = %v, want ErrLoginRequired", err)
		}
	}
	if _, err := m.ForceRefresh(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("ForceRefresh err = %v, want ErrLoginRequired", err)
	}
	if n := p.srv.Counts().Token; n != calls {
		t.Errorf("token endpoint calls went from %d to %d with a refused token", calls, n)
	}

	// A login clears it.
	login := Credentials{AccessToken: "login-access-token-0123456789", RefreshToken: p.srv.IssueRefreshToken(lcClient, ""),
		ExpiresAt: lcT0.Add(time.Hour), ObtainedAt: lcT0}
	if err := m.Save(context.Background(), login); err != nil {
		t.Fatal(err)
	}
	tok, err := m.Token(context.Background())
	if err != nil || tok != login.AccessToken {
		t.Fatalf("after login Token = %s, %v", MaskAccess(tok), err)
	}
	evs := drain(events)
	if len(evs) != 1 || evs[0].Kind != LoginSucceeded || evs[0].After != MaskRefresh(login.RefreshToken) {
		t.Errorf("login events = %v", evs)
	}
	if st := m.Status(context.Background()); st.State != StateOK || st.LastError != "" {
		t.Errorf("after login: state %s, last error %q", st.State, st.LastError)
	}
}

func TestAnotherProcessRefreshIsAdopted(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(time.Hour))
	a, b := p.manager(nil), p.manager(nil) // two processes sharing one store

	if _, err := a.Token(context.Background()); err != nil { // a caches the seeded token
		t.Fatal(err)
	}
	p.clock.Advance(59 * time.Minute) // both now inside grace
	tokB, err := b.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tokA, err := a.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tokA != tokB {
		t.Errorf("a has %s, b refreshed to %s", MaskAccess(tokA), MaskAccess(tokB))
	}
	if n := p.srv.Counts().Token; n != 1 {
		t.Errorf("token endpoint calls = %d, want 1 (a adopts b's refresh)", n)
	}
}

func TestForceRefresh(t *testing.T) {
	p := newLCProvider(t)
	seeded := p.seed(t, lcT0.Add(time.Hour))
	a, b := p.manager(nil), p.manager(nil)
	events, cancel := p.bus.Subscribe(16)
	defer cancel()
	for _, m := range []*Manager{a, b} {
		if _, err := m.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	got, err := a.ForceRefresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken == seeded.AccessToken || got.RefreshToken == seeded.RefreshToken {
		t.Fatal("ForceRefresh did not renew a valid token")
	}
	evs := drain(events)
	if len(evs) != 2 || evs[1].Kind != RefreshSucceeded {
		t.Fatalf("events = %v", kinds(evs))
	}
	if evs[1].Before != MaskRefresh(seeded.RefreshToken) || evs[1].After != MaskRefresh(got.RefreshToken) || evs[1].Before == evs[1].After {
		t.Errorf("rotation event shows %q → %q", evs[1].Before, evs[1].After)
	}
	for _, e := range evs {
		for _, secret := range []string{seeded.AccessToken, seeded.RefreshToken, got.AccessToken, got.RefreshToken} {
			if strings.Contains(fmt.Sprint(e), secret) {
				t.Errorf("event %v shows a whole token", e.Kind)
			}
		}
	}

	// b handed out the old token, which the upstream now rejects: b's
	// forced refresh adopts a's result instead of spending the token again.
	gotB, err := b.ForceRefresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if gotB.AccessToken != got.AccessToken {
		t.Errorf("b forced to %s, want a's %s", MaskAccess(gotB.AccessToken), MaskAccess(got.AccessToken))
	}
	if c := p.srv.Counts(); c.Token != 1 || p.invalidGrants() != 0 {
		t.Errorf("token endpoint calls = %d (invalid_grant %d), want 1 and 0", c.Token, p.invalidGrants())
	}
}

func TestCacheIsReusedAndInvalidated(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(time.Hour))
	counting := &countingStore{Store: p.store}
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: counting, Clock: p.clock, CacheTTL: 30 * time.Second})
	other := p.manager(nil)
	ctx := context.Background()

	for range 100 {
		if _, err := m.Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := counting.loads(); n != 1 {
		t.Errorf("100 calls read the store %d times, want 1", n)
	}

	// Another process logs in again: seen once the cache is stale.
	newer := Credentials{AccessToken: "newer-access-token-0123456789", RefreshToken: "newer-refresh-0123", ExpiresAt: lcT0.Add(2 * time.Hour)}
	if err := other.Save(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if tok, _ := m.Token(ctx); tok == newer.AccessToken {
		t.Error("cache was not used")
	}
	p.clock.Advance(31 * time.Second)
	if tok, _ := m.Token(ctx); tok != newer.AccessToken {
		t.Errorf("after the TTL Token = %s, want the newer login", MaskAccess(tok))
	}

	// Logout invalidates at once.
	if err := m.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Token(ctx); !errors.Is(err, ErrLoginRequired) {
		t.Errorf("after logout err = %v, want ErrLoginRequired", err)
	}
	if _, err := p.store.Load(ctx, "demo"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after logout the store still holds credentials: %v", err)
	}
	if st := m.Status(ctx); st.State != StateNeedsLogin || st.Authenticated {
		t.Errorf("after logout status = %s authenticated=%v", st.State, st.Authenticated)
	}
}

// A refreshed token the store refused to save is kept and saved with the
// next refresh, never lost, so the rotated refresh token is not wasted.
func TestUnsavedRefreshIsKeptAndSavedLater(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(-time.Minute))
	failing := &countingStore{Store: p.store, failSaves: 1}
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: failing, Clock: p.clock, Bus: p.bus})
	ctx := context.Background()

	tok, err := m.Token(ctx)
	if err != nil || !p.srv.ValidAccessToken(tok) {
		t.Fatalf("Token = %s, %v; want the refreshed token despite the failed save", MaskAccess(tok), err)
	}
	if st := m.Status(ctx); st.LastError == "" {
		t.Error("the failed save is not reported")
	}
	// The next refresh saves the kept credentials and spends their token.
	got, err := m.ForceRefresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.invalidGrants() != 0 {
		t.Fatalf("%d refreshes were refused", p.invalidGrants())
	}
	if s := p.stored(t); s.RefreshToken != p.srv.LastRefreshToken() || s.AccessToken != got.AccessToken {
		t.Errorf("store holds %s, want the last issued %s", MaskRefresh(s.RefreshToken), MaskRefresh(p.srv.LastRefreshToken()))
	}
}

// countingStore counts loads and can fail saves.
type countingStore struct {
	store.Store
	mu        sync.Mutex // guards n, failSaves
	n         int
	failSaves int
}

func (c *countingStore) Load(ctx context.Context, provider string) ([]byte, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Store.Load(ctx, provider)
}

func (c *countingStore) Save(ctx context.Context, provider string, blob []byte) error {
	c.mu.Lock()
	fail := c.failSaves > 0
	if fail {
		c.failSaves--
	}
	c.mu.Unlock()
	if fail {
		return fmt.Errorf("disk full: %w", store.ErrUnavailable)
	}
	return c.Store.Save(ctx, provider, blob)
}

func (c *countingStore) loads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// BenchmarkToken measures the hot path: a valid, cached token on the real
// clock, as every proxied request asks for it.
func BenchmarkToken(b *testing.B) {
	st := store.NewMemory()
	c := Credentials{AccessToken: "bench-access-token-0123456789", RefreshToken: "bench-refresh",
		ObtainedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	blob, _ := c.Marshal()
	if err := st.Save(context.Background(), "demo", blob); err != nil {
		b.Fatal(err)
	}
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: &Config{Provider: "demo"}, Store: st})
	ctx := context.Background()
	if _, err := m.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if tok, err := m.Token(ctx); err != nil || tok == "" {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if tok, err := m.Token(ctx); err != nil || tok == "" {
					b.Fatal(err)
				}
			}
		})
	})
}

func TestTokenHotPathDoesNotAllocate(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(time.Hour))
	m := p.manager(nil)
	ctx := context.Background()
	if _, err := m.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { _, _ = m.Token(ctx) }); n != 0 {
		t.Errorf("Token on a cached token allocates %.1f times per call", n)
	}
}

// Every kind of caller racing on one provider: on-demand Token in grace,
// forced refreshes after 401s, and concurrent Credentials calls. However
// they interleave, no refresh token is offered twice.
func TestEveryCallerSharesOneRefreshPath(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(time.Minute)) // inside grace
	m := p.manager(nil)
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch i % 3 {
			case 0:
				_, err = m.Token(context.Background())
			case 1:
				_, err = m.ForceRefresh(context.Background())
			default:
				_, err = m.Credentials(context.Background())
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := p.invalidGrants(); n != 0 {
		t.Errorf("%d refreshes were refused: a refresh token was spent twice", n)
	}
	if got := p.stored(t); got.RefreshToken != p.srv.LastRefreshToken() {
		t.Errorf("store holds %s, the server last issued %s", MaskRefresh(got.RefreshToken), MaskRefresh(p.srv.LastRefreshToken()))
	}
}

// A caller that gives up does not abandon a refresh in flight: the server
// has rotated the token by then, and the new one must be saved.
func TestCancelledCallerDoesNotLoseTheRotatedToken(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(-time.Minute))
	entered, release := make(chan struct{}), make(chan struct{})
	slow := refresherFunc(func(ctx context.Context, cur Credentials) (Credentials, error) {
		close(entered)
		<-release
		return p.cfg.Refresh(ctx, cur)
	})
	m := p.manager(slow)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := m.Token(ctx)
		done <- err
	}()
	<-entered
	cancel()
	if err := <-done; !errors.Is(err, ErrCancelled) {
		t.Fatalf("cancelled caller got %v, want ErrCancelled", err)
	}
	close(release)
	// Joins the refresh still in flight, or finds its result.
	tok, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := p.stored(t); got.RefreshToken != p.srv.LastRefreshToken() || got.AccessToken != tok {
		t.Errorf("store holds %s, the server last issued %s", MaskRefresh(got.RefreshToken), MaskRefresh(p.srv.LastRefreshToken()))
	}
	if n := p.srv.Counts().Token; n != 1 {
		t.Errorf("token endpoint calls = %d, want 1", n)
	}
}

// A 429 with Retry-After keeps on-demand refreshes away for as long as
// the server asked, not just the short back-off.
func TestRateLimitedRefreshWaitsForRetryAfter(t *testing.T) {
	p := newLCProvider(t)
	seeded := p.seed(t, lcT0.Add(5*time.Minute))
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: p.store, Clock: p.clock, Grace: 10 * time.Minute})
	p.srv.InjectTokenFault(fake.FaultRateLimited("120"), 1)
	ctx := context.Background()

	for _, step := range []struct {
		at        time.Duration
		wantCalls int
		wantFresh bool
	}{
		{0, 1, false},                 // rate limited: the valid token is served
		{10 * time.Second, 1, false},  // past the 5 s back-off, inside Retry-After
		{119 * time.Second, 1, false}, // still inside
		{120 * time.Second, 2, true},  // the server's wait is over
	} {
		p.clock.Advance(lcT0.Add(step.at).Sub(p.clock.Now()))
		tok, err := m.Token(ctx)
		if err != nil {
			t.Fatalf("at +%s: %v", step.at, err)
		}
		if n := p.srv.Counts().Token; n != step.wantCalls {
			t.Errorf("at +%s: token endpoint calls = %d, want %d", step.at, n, step.wantCalls)
		}
		if fresh := tok != seeded.AccessToken; fresh != step.wantFresh {
			t.Errorf("at +%s: fresh token = %v, want %v", step.at, fresh, step.wantFresh)
		}
	}
}
