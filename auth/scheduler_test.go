package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
	"github.com/jonboulle/clockwork"
)

// stubRefresher renews credentials on the fake clock and records when it
// was asked; fail lists the outcomes of the next calls (nil succeeds).
type stubRefresher struct {
	clock clockwork.Clock
	life  time.Duration

	mu    sync.Mutex // guards calls, fail, n
	calls []time.Time
	fail  []error
	n     int
}

func (r *stubRefresher) Refresh(_ context.Context, cur Credentials) (Credentials, error) {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, now)
	if len(r.fail) > 0 {
		err := r.fail[0]
		r.fail = r.fail[1:]
		if err != nil {
			return Credentials{}, err
		}
	}
	r.n++
	next := cur
	next.AccessToken = fmt.Sprintf("stub-access-%04d-0123456789", r.n)
	next.RefreshToken = fmt.Sprintf("stub-refresh-%04d", r.n)
	next.ExpiresAt, next.ObtainedAt, next.LastRefresh = now.Add(r.life), now, now
	return next, nil
}

func (r *stubRefresher) callTimes() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *stubRefresher) failNext(errs ...error) {
	r.mu.Lock()
	r.fail = append(r.fail, errs...)
	r.mu.Unlock()
}

// waitSleeps blocks until the scheduler's loop has gone to sleep more than
// n times, and returns the new count.
func (s *Scheduler) waitSleeps(ctx context.Context, n uint64) (uint64, error) {
	for {
		s.mu.Lock()
		got, ch := s.sleeps, s.slept
		s.mu.Unlock()
		if got > n {
			return got, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
}

// schedFixture runs a Scheduler over one provider on a fake clock.
type schedFixture struct {
	clock  *clockwork.FakeClock
	ref    *stubRefresher
	m      *Manager
	s      *Scheduler
	bus    *Bus
	events <-chan Event
	sleeps uint64
	jitter []time.Duration // the max of every jitter asked for
	mu     sync.Mutex      // guards jitter
}

// jitterFull and jitterNone are Scheduler jitter sources.
func jitterFull(d time.Duration) time.Duration { return d }
func jitterNone(time.Duration) time.Duration   { return 0 }

func newSchedFixture(t *testing.T, lifetime, grace time.Duration, jitter func(time.Duration) time.Duration) *schedFixture {
	t.Helper()
	f := &schedFixture{clock: clockwork.NewFakeClockAt(lcT0), bus: NewBus()}
	f.ref = &stubRefresher{clock: f.clock, life: lifetime}
	st := store.NewMemory()
	f.m = NewManager(ManagerOptions{Provider: "demo", Refresher: f.ref, Store: st, Clock: f.clock, Grace: grace, Bus: f.bus})
	seed := Credentials{AccessToken: "seeded-access-token-0123456789", RefreshToken: "seeded-refresh",
		ObtainedAt: lcT0, ExpiresAt: lcT0.Add(lifetime)}
	blob, _ := seed.Marshal()
	if err := st.Save(context.Background(), "demo", blob); err != nil {
		t.Fatal(err)
	}
	var cancelSub func()
	f.events, cancelSub = f.bus.Subscribe(256)
	f.s = NewScheduler(SchedulerOptions{Clock: f.clock, Jitter: func(max time.Duration) time.Duration {
		f.mu.Lock()
		f.jitter = append(f.jitter, max)
		f.mu.Unlock()
		return jitter(max)
	}})
	f.s.Add(f.m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.s.Run(ctx)
	}()
	t.Cleanup(func() {
		f.s.Stop()
		cancel()
		<-done
		cancelSub()
	})
	f.settle(t)
	return f
}

// settle waits until the scheduler has reacted to what the test just did
// and is asleep on the fake clock again.
func (f *schedFixture) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := f.s.waitSleeps(ctx, f.sleeps)
	if err != nil {
		t.Fatalf("scheduler did not react: %v", err)
	}
	f.sleeps = n
	if err := f.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("scheduler is not waiting on the clock: %v", err)
	}
}

// advanceTo moves the clock to at; the scheduler's timer must fire by then.
func (f *schedFixture) advanceTo(t *testing.T, at time.Time) {
	t.Helper()
	f.clock.Advance(at.Sub(f.clock.Now()))
	f.settle(t)
}

func (f *schedFixture) status() Status { return f.m.Status(context.Background()) }

func TestSchedulerRefreshesAtTheRightMoment(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lifetime  time.Duration
		jitter    func(time.Duration) time.Duration
		wantMax   time.Duration // the jitter range asked for
		wantDueIn time.Duration // from the token's issue
	}{
		{"an hour's token, no jitter", time.Hour, jitterNone, 30 * time.Second, time.Hour - 2*time.Minute},
		{"an hour's token, full jitter capped at 30s", time.Hour, jitterFull, 30 * time.Second, time.Hour - 2*time.Minute - 30*time.Second},
		{"a 4 minute token, jitter 10% of it", 4 * time.Minute, jitterFull, 24 * time.Second, 4*time.Minute - 2*time.Minute - 24*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSchedFixture(t, tc.lifetime, 2*time.Minute, tc.jitter)
			due := lcT0.Add(tc.wantDueIn)
			if got := f.status().NextRefresh; !got.Equal(due) {
				t.Fatalf("next refresh %s, want %s", got.Format(time.TimeOnly), due.Format(time.TimeOnly))
			}
			if f.jitter[0] != tc.wantMax {
				t.Errorf("jitter range %s, want %s", f.jitter[0], tc.wantMax)
			}

			f.advanceTo(t, due.Add(-time.Second))
			if n := len(f.ref.callTimes()); n != 0 {
				t.Fatalf("refreshed %d times a second early", n)
			}
			f.advanceTo(t, due)
			calls := f.ref.callTimes()
			if len(calls) != 1 || !calls[0].Equal(due) {
				t.Fatalf("refreshes at %v, want one at %s", calls, due.Format(time.TimeOnly))
			}
			// Re-armed from the new token.
			if got, want := f.status().NextRefresh, due.Add(tc.wantDueIn); !got.Equal(want) {
				t.Errorf("re-armed for %s, want %s", got.Format(time.TimeOnly), want.Format(time.TimeOnly))
			}
			evs := drain(f.events)
			if got := kinds(evs); fmt.Sprint(got) != fmt.Sprint([]EventKind{RefreshStarted, RefreshSucceeded}) {
				t.Errorf("events = %v", got)
			}
		})
	}
}

// A temporary failure is retried with back-off until the token is renewed:
// before expiry the waits halve the time left instead of sleeping past it,
// after expiry they stay short, and the first answer renews the token.
func TestSchedulerRetriesUntilRenewed(t *testing.T) {
	transient := &Error{Provider: "demo", Op: "refresh", Kind: ErrTransient, Err: errors.New("503 from the token endpoint")}
	for _, tc := range []struct {
		name   string
		jitter func(time.Duration) time.Duration
		first  []time.Duration
	}{
		{"no jitter", jitterNone, []time.Duration{5e9, 10e9, 20e9, 40e9, 80e9, 160e9, 300e9, 300e9, 300e9}},
		{"full jitter adds 10%", jitterFull, []time.Duration{5.5e9, 11e9, 22e9, 44e9, 88e9, 176e9, 330e9, 330e9, 330e9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A 30 minute grace leaves room for the back-off to reach its cap.
			f := newSchedFixture(t, time.Hour, 30*time.Minute, tc.jitter)
			const failures = 40
			f.ref.failNext(slices.Repeat([]error{transient}, failures)...)
			f.advanceTo(t, f.status().NextRefresh)
			expiry := lcT0.Add(time.Hour)

			var waits []time.Duration
			for range failures {
				st := f.status()
				if st.NextAttempt.IsZero() {
					t.Fatalf("after %d failures at %v: no retry planned (state %s)", len(waits)+1, f.clock.Now(), st.State)
				}
				if st.LastError == "" {
					t.Fatal("a failure is not reported")
				}
				wait := st.NextAttempt.Sub(f.clock.Now())
				if now := f.clock.Now(); now.Before(expiry) && !st.NextAttempt.Before(expiry) && expiry.Sub(now) > 2*minRetry {
					t.Fatalf("at %v the retry at %v sleeps past expiry at %v", now, st.NextAttempt, expiry)
				}
				if !f.clock.Now().Before(expiry) && wait > expiredRetry {
					t.Fatalf("after expiry a retry waits %v, more than %v", wait, expiredRetry)
				}
				waits = append(waits, wait)
				f.advanceTo(t, st.NextAttempt)
			}
			if !slices.Equal(waits[:len(tc.first)], tc.first) {
				t.Fatalf("back-off waits %v, want them to start %v", waits, tc.first)
			}
			if !f.clock.Now().After(expiry) {
				t.Fatalf("the test meant to fail past expiry; it is %v", f.clock.Now())
			}
			for _, e := range drain(f.events) {
				if e.Kind == NeedsLogin {
					t.Error("a temporary failure announced needs_login")
				}
			}
			// The server answers again: the very next attempt renews.
			if n := len(f.ref.callTimes()); n != failures+1 {
				t.Fatalf("%d attempts, want %d", n, failures+1)
			}
			if st := f.status(); st.State != StateOK || !st.NextAttempt.IsZero() || st.LastError != "" {
				t.Errorf("after renewal: state %s, next attempt %v, last error %q", st.State, st.NextAttempt, st.LastError)
			}
		})
	}
}

func TestSchedulerStopsOnLoginRequiredAndRearmsOnLogin(t *testing.T) {
	f := newSchedFixture(t, time.Hour, 2*time.Minute, jitterNone)
	f.ref.failNext(&Error{Provider: "demo", Op: "refresh", Kind: ErrLoginRequired, Code: "invalid_grant"})
	f.advanceTo(t, f.status().NextRefresh)

	st := f.status()
	if st.State != StateNeedsLogin || !st.NextRefresh.IsZero() || !st.NextAttempt.IsZero() {
		t.Fatalf("after a refused refresh: state %s, next refresh %v, next attempt %v", st.State, st.NextRefresh, st.NextAttempt)
	}
	if got := kinds(drain(f.events)); !slices.Contains(got, NeedsLogin) {
		t.Errorf("events %v lack needs_login", got)
	}
	f.advanceTo(t, lcT0.Add(5*time.Hour))
	if n := len(f.ref.callTimes()); n != 1 {
		t.Fatalf("%d refresh attempts, want 1: it must stop until a login", n)
	}
	if st := f.status(); st.State != StateNeedsLogin || st.Authenticated {
		t.Errorf("expired and refused: state %s, authenticated %v", st.State, st.Authenticated)
	}

	now := f.clock.Now()
	login := Credentials{AccessToken: "login-access-token-0123456789", RefreshToken: "login-refresh",
		ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := f.m.Save(context.Background(), login); err != nil {
		t.Fatal(err)
	}
	f.settle(t)
	due := now.Add(time.Hour - 2*time.Minute)
	if got := f.status().NextRefresh; !got.Equal(due) {
		t.Fatalf("after login next refresh %v, want %v", got, due)
	}
	f.advanceTo(t, due)
	if n := len(f.ref.callTimes()); n != 2 {
		t.Fatalf("%d refresh attempts, want the re-armed one too", n)
	}
	if st := f.status(); st.State != StateOK || st.LastError != "" {
		t.Errorf("after the re-armed refresh: state %s, last error %q", st.State, st.LastError)
	}
}

func TestSchedulerRefreshesAtOnceAfterSleepingPastTheDeadline(t *testing.T) {
	f := newSchedFixture(t, time.Hour, 2*time.Minute, jitterNone)
	// The laptop sleeps for three hours: past the due time and the expiry.
	wake := lcT0.Add(3 * time.Hour)
	f.advanceTo(t, wake)
	calls := f.ref.callTimes()
	if len(calls) != 1 || !calls[0].Equal(wake) {
		t.Fatalf("refreshes at %v, want one at wake-up %s", calls, wake.Format(time.TimeOnly))
	}
	tok, err := f.m.Token(context.Background())
	if err != nil || !strings.HasPrefix(tok, "stub-access-0001") {
		t.Fatalf("Token after wake-up = %s, %v", MaskAccess(tok), err)
	}
	if got, want := f.status().NextRefresh, wake.Add(time.Hour-2*time.Minute); !got.Equal(want) {
		t.Errorf("re-armed for %v, want %v", got, want)
	}
}

func TestSchedulerFollowsConfigAndLogout(t *testing.T) {
	f := newSchedFixture(t, time.Hour, 2*time.Minute, jitterNone)
	ctx := context.Background()

	f.s.Remove("demo")
	f.settle(t)
	if st := f.status(); !st.NextRefresh.IsZero() {
		t.Errorf("removed provider still scheduled for %v", st.NextRefresh)
	}
	f.advanceTo(t, lcT0.Add(2*time.Hour))
	if n := len(f.ref.callTimes()); n != 0 {
		t.Fatalf("removed provider refreshed %d times", n)
	}

	// Added back (config re-enabled it) with an expired token: at once.
	f.s.Add(f.m)
	f.settle(t)
	if n := len(f.ref.callTimes()); n != 1 {
		t.Fatalf("re-added expired provider refreshed %d times, want 1", n)
	}

	if err := f.m.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	f.settle(t)
	if st := f.status(); !st.NextRefresh.IsZero() || st.State != StateNeedsLogin {
		t.Errorf("after logout: next refresh %v, state %s", st.NextRefresh, st.State)
	}
	f.advanceTo(t, lcT0.Add(5*time.Hour))
	if n := len(f.ref.callTimes()); n != 1 {
		t.Errorf("logged-out provider refreshed %d more times", n-1)
	}
}

func TestSchedulerKeepsProvidersInDueOrder(t *testing.T) {
	clock := clockwork.NewFakeClockAt(lcT0)
	st := store.NewMemory()
	ref := &stubRefresher{clock: clock, life: time.Hour}
	var order []string
	var mu sync.Mutex
	s := NewScheduler(SchedulerOptions{Clock: clock, Jitter: jitterNone})
	for name, life := range map[string]time.Duration{"late": 50 * time.Minute, "early": 20 * time.Minute, "middle": 35 * time.Minute} {
		exp := lcT0.Add(life)
		c := Credentials{AccessToken: "access-token-of-" + name + "-0123456789", RefreshToken: "r-" + name, ObtainedAt: lcT0, ExpiresAt: exp}
		blob, _ := c.Marshal()
		if err := st.Save(context.Background(), name, blob); err != nil {
			t.Fatal(err)
		}
		r := refresherFunc(func(ctx context.Context, cur Credentials) (Credentials, error) {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return ref.Refresh(ctx, cur)
		})
		s.Add(NewManager(ManagerOptions{Provider: name, Refresher: r, Store: st, Clock: clock}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var sleeps uint64
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	for range 60 { // an hour, a minute at a time
		var err error
		if sleeps, err = s.waitSleeps(wctx, sleeps); err != nil {
			t.Fatal(err)
		}
		if err := clock.BlockUntilContext(wctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"early", "middle", "late"}; !slices.Equal(order[:3], want) {
		t.Errorf("refresh order %v, want %v first", order, want)
	}
}

func TestSchedulerStopEndsRun(t *testing.T) {
	s := NewScheduler(SchedulerOptions{Clock: clockwork.NewFakeClockAt(lcT0)})
	done := make(chan struct{})
	go func() { defer close(done); s.Run(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.waitSleeps(ctx, 0); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Run did not return after Stop")
	}
}

// refresherFunc adapts a function to Refresher.
type refresherFunc func(ctx context.Context, cur Credentials) (Credentials, error)

func (f refresherFunc) Refresh(ctx context.Context, cur Credentials) (Credentials, error) {
	return f(ctx, cur)
}

func TestSchedulerHonoursRetryAfter(t *testing.T) {
	f := newSchedFixture(t, time.Hour, 10*time.Minute, jitterNone)
	f.ref.failNext(&Error{Provider: "demo", Op: "refresh", Kind: ErrTransient, Code: "rate_limited", RetryAfter: 3 * time.Minute})
	due := f.status().NextRefresh
	f.advanceTo(t, due)
	st := f.status()
	if st.State != StateRetrying || !st.NextAttempt.Equal(due.Add(3*time.Minute)) {
		t.Fatalf("after a 429: state %s, next attempt %v, want %v", st.State, st.NextAttempt, due.Add(3*time.Minute))
	}
	f.advanceTo(t, st.NextAttempt)
	calls := f.ref.callTimes()
	if len(calls) != 2 || !calls[1].Equal(due.Add(3*time.Minute)) {
		t.Fatalf("attempts at %v", calls)
	}
	if st := f.status(); st.State != StateOK {
		t.Errorf("after the retry: state %s", st.State)
	}
}

// A day of background refreshes against the rotating fake server through
// the real refresher: every rotation lands in the store, none is refused.
func TestSchedulerKeepsARealProviderFreshForADay(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(time.Hour))
	m := p.manager(nil)
	s := NewScheduler(SchedulerOptions{Clock: p.clock, Jitter: jitterNone})
	s.Add(m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	var sleeps uint64
	settle := func() {
		t.Helper()
		var err error
		if sleeps, err = s.waitSleeps(wctx, sleeps); err != nil {
			t.Fatal(err)
		}
		if err := p.clock.BlockUntilContext(wctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	settle()
	for p.clock.Now().Before(lcT0.Add(24 * time.Hour)) {
		next := m.Status(ctx).NextRefresh
		if next.IsZero() {
			t.Fatalf("nothing scheduled at %s", p.clock.Now())
		}
		p.clock.Advance(next.Sub(p.clock.Now()))
		settle()
		if tok, err := m.Token(ctx); err != nil || !p.srv.ValidAccessToken(tok) {
			t.Fatalf("at %s Token = %s, %v", p.clock.Now(), MaskAccess(tok), err)
		}
	}
	c := p.srv.Counts()
	if c.Refresh < 24 || p.invalidGrants() != 0 {
		t.Errorf("%d refreshes, %d refused", c.Refresh, p.invalidGrants())
	}
	if got := p.stored(t); got.RefreshToken != p.srv.LastRefreshToken() {
		t.Errorf("store holds %s, the server last issued %s", MaskRefresh(got.RefreshToken), MaskRefresh(p.srv.LastRefreshToken()))
	}
}

func TestSchedulerStoppedBeforeRunStartsDoesNotRun(t *testing.T) {
	s := NewScheduler(SchedulerOptions{Clock: clockwork.NewFakeClockAt(lcT0)})
	s.Stop()
	done := make(chan struct{})
	go func() { defer close(done); s.Run(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Run started after Stop")
	}
}
