package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"
)

// Defaults of ManagerOptions.
const (
	// DefaultGrace is how long before expiry a token is renewed.
	DefaultGrace = 2 * time.Minute
	// DefaultCacheTTL is how long credentials read from the store are
	// trusted before the store is read again.
	DefaultCacheTTL = 30 * time.Second
)

// refreshTimeout bounds one refresh (lock wait, token call, save) once it has
// started. The refresh does not end early when the caller that started it
// gives up: abandoning it after the server rotated the refresh token would
// lose the new token and log the user out.
const refreshTimeout = 2 * time.Minute

// Refresher renews credentials with their refresh token. *Config satisfies
// it; tests substitute their own.
type Refresher interface {
	Refresh(ctx context.Context, cur Credentials) (Credentials, error)
}

// ManagerOptions configure a Manager. Provider, Refresher and Store are
// required; the rest have defaults.
type ManagerOptions struct {
	Provider  string
	Refresher Refresher
	Store     store.Store
	// Clock is the real clock when nil.
	Clock clockwork.Clock
	// Grace is how long before expiry Token refreshes (DefaultGrace when 0).
	// For tokens that live less than twice as long, half their lifetime is
	// used instead, so a short-lived token is not refreshed on every call.
	Grace time.Duration
	// CacheTTL is how long credentials read from the store are reused
	// without reading it again (DefaultCacheTTL when 0).
	CacheTTL time.Duration
	// Bus receives the provider's lifecycle events; nil discards them.
	Bus *Bus
}

// Manager hands out a valid access token for one provider and is the only
// way its credentials are renewed: every refresh, whether on demand, forced
// after a 401 or scheduled, goes through the same single-flight, the store's
// cross-process lock and a re-read of the store, so a rotating refresh token
// is never spent twice.
type Manager struct {
	provider  string
	refresher Refresher
	store     store.Store
	clock     clockwork.Clock
	grace     time.Duration
	ttl       time.Duration
	bus       *Bus

	cache  atomic.Pointer[cacheEntry]
	flight singleflight.Group

	mu   sync.Mutex // guards life
	life lifecycle
}

// cacheEntry is an immutable snapshot of what the store held. Entries are
// replaced, never changed, so the hot path reads one without locking.
type cacheEntry struct {
	creds Credentials
	err   error     // the load error when nothing usable is stored
	stale time.Time // when the store must be read again
	// renew is when the token enters its grace window; zero means never.
	renew time.Time
}

// lifecycle is what the Manager remembers between refreshes for Status and
// for deciding whether to try again.
type lifecycle struct {
	refreshing  bool
	lastErr     error
	failures    int       // consecutive transient failures
	failedAt    time.Time // the last of them
	notBefore   time.Time // the server's Retry-After, as a time
	needsLogin  bool
	rejected    string // the refresh token the server refused
	nextRefresh time.Time
	nextAttempt time.Time
	// unsaved holds refreshed credentials the store refused to save, and
	// replaces is the refresh token they superseded: the next refresh saves
	// them first instead of spending the superseded token.
	unsaved  *Credentials
	replaces string
	notify   func() // the scheduler's wake-up, when one watches this manager
}

// NewManager returns the Manager of one provider.
func NewManager(opts ManagerOptions) *Manager {
	m := &Manager{
		provider:  opts.Provider,
		refresher: opts.Refresher,
		store:     opts.Store,
		clock:     opts.Clock,
		grace:     opts.Grace,
		ttl:       opts.CacheTTL,
		bus:       opts.Bus,
	}
	if m.clock == nil {
		m.clock = clockwork.NewRealClock()
	}
	if m.grace <= 0 {
		m.grace = DefaultGrace
	}
	if m.ttl <= 0 {
		m.ttl = DefaultCacheTTL
	}
	return m
}

// Provider is the name of the provider this Manager serves.
func (m *Manager) Provider() string { return m.provider }

// Token returns a valid access token, refreshing it first when it is inside
// the grace window. A cached, valid token costs no allocation and no I/O.
func (m *Manager) Token(ctx context.Context) (string, error) {
	now := m.clock.Now()
	if e := m.cache.Load(); e != nil && e.fresh(now) {
		return e.creds.AccessToken, nil
	}
	c, err := m.credentials(ctx, now)
	if err != nil {
		return "", err
	}
	return c.AccessToken, nil
}

// Credentials returns valid credentials, refreshing them first when they are
// inside the grace window. When a refresh fails but the current token is
// still valid, the current credentials are returned and the failure is
// recorded for Status. The result shares its slices and map with the cache:
// treat it as read-only.
func (m *Manager) Credentials(ctx context.Context) (Credentials, error) {
	now := m.clock.Now()
	if e := m.cache.Load(); e != nil && e.fresh(now) {
		return e.creds, nil
	}
	return m.credentials(ctx, now)
}

// ForceRefresh renews the credentials now, whatever their expiry: the
// proxy's path after an upstream 401, and `auth refresh`. If the stored
// token is no longer the one this Manager last handed out (another
// goroutine or process renewed it meanwhile), that newer token is returned
// instead of spending the refresh token again.
func (m *Manager) ForceRefresh(ctx context.Context) (Credentials, error) {
	cur, err := m.current(ctx, m.clock.Now())
	if err != nil {
		return Credentials{}, err
	}
	r, err := m.refresh(ctx, refreshReq{force: true, seen: cur.AccessToken, reason: "forced"})
	if err != nil {
		return Credentials{}, err
	}
	return r.creds, nil
}

// Save stores credentials a login produced, replaces the cached ones, clears
// any failure or needs-login mark, announces the login, and wakes the
// scheduler so it plans the next refresh.
func (m *Manager) Save(ctx context.Context, c Credentials) error {
	if c.Provider == "" {
		c.Provider = m.provider
	}
	if c.Provider != m.provider {
		return &Error{Provider: m.provider, Op: "save", Kind: ErrMisconfigured,
			Err: fmt.Errorf("credentials are for %q", c.Provider)}
	}
	blob, err := c.Marshal()
	if err != nil {
		return &Error{Provider: m.provider, Op: "save", Kind: ErrMisconfigured, Err: err}
	}
	unlock, err := m.store.Lock(ctx, m.provider)
	if err != nil {
		return m.storeError("save", err)
	}
	if err := m.store.Save(ctx, m.provider, blob); err != nil {
		unlock()
		return m.storeError("save", err)
	}
	m.setCache(c, nil)
	unlock()

	m.mu.Lock()
	notify := m.life.notify
	m.life = lifecycle{notify: notify, nextRefresh: m.life.nextRefresh}
	m.mu.Unlock()

	msg := "logged in"
	if c.Email != "" {
		msg += " as " + c.Email
	}
	m.publish(Event{Kind: LoginSucceeded, Message: msg, ExpiresAt: c.ExpiresAt, After: MaskRefresh(c.RefreshToken)})
	m.wake()
	return nil
}

// Logout deletes the stored credentials and forgets the cached ones. The
// scheduler stops refreshing the provider until the next login.
func (m *Manager) Logout(ctx context.Context) error {
	unlock, err := m.store.Lock(ctx, m.provider)
	if err != nil {
		return m.storeError("logout", err)
	}
	before := ""
	if e := m.cache.Load(); e != nil {
		before = MaskRefresh(e.creds.RefreshToken)
	}
	if err := m.store.Delete(ctx, m.provider); err != nil {
		unlock()
		return m.storeError("logout", err)
	}
	m.setCache(Credentials{}, m.loginError("token", errors.New("logged out")))
	unlock()

	m.mu.Lock()
	m.life = lifecycle{notify: m.life.notify}
	m.mu.Unlock()

	m.publish(Event{Kind: LoggedOut, Message: "logged out", Before: before})
	m.wake()
	return nil
}

// fresh reports whether the entry may be used without any further check.
func (e *cacheEntry) fresh(now time.Time) bool {
	return e.err == nil && now.Before(e.stale) && e.creds.AccessToken != "" &&
		(e.renew.IsZero() || now.Before(e.renew))
}

// window is the grace window that applies to c: the configured grace, or
// half the token's lifetime when that is shorter.
func window(c Credentials, grace time.Duration) time.Duration {
	if c.ExpiresAt.IsZero() || c.ObtainedAt.IsZero() {
		return grace
	}
	if half := c.ExpiresAt.Sub(c.ObtainedAt) / 2; half > 0 && half < grace {
		return half
	}
	return grace
}

func needsRefresh(c Credentials, now time.Time, grace time.Duration) bool {
	return c.NeedsRefresh(now, window(c, grace))
}

func (m *Manager) setCache(c Credentials, err error) {
	m.cache.Store(m.entry(c, err))
}

func (m *Manager) entry(c Credentials, err error) *cacheEntry {
	e := &cacheEntry{creds: c, err: err, stale: m.clock.Now().Add(m.ttl)}
	if !c.ExpiresAt.IsZero() {
		e.renew = c.ExpiresAt.Add(-window(c, m.grace))
	}
	return e
}

// current returns the cached credentials while the cache is fresh, else
// what the store holds now. It never refreshes.
func (m *Manager) current(ctx context.Context, now time.Time) (Credentials, error) {
	old := m.cache.Load()
	// "Nothing stored" is never trusted from the cache: another process (an
	// `auth login` in a second terminal) may have stored credentials since,
	// and a not-logged-in provider is no hot path worth saving a read on. A
	// corrupt record stays cached: it was moved aside on the first read, and
	// the cached error is what still says so.
	if old != nil && now.Before(old.stale) && !errors.Is(old.err, errNotLoggedIn) {
		return old.creds, old.err
	}
	c, err := m.read(ctx)
	// Install only if nothing newer (a refresh, a login, a logout) replaced
	// the entry while the store was being read.
	m.cache.CompareAndSwap(old, m.entry(c, err))
	return c, err
}

// errNotLoggedIn is the cause when the store holds nothing for a provider.
var errNotLoggedIn = errors.New("not logged in")

// read loads the credentials from the store, bypassing the cache.
func (m *Manager) read(ctx context.Context) (Credentials, error) {
	blob, err := m.store.Load(ctx, m.provider)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Credentials{}, m.loginError("token", errNotLoggedIn)
		}
		return Credentials{}, m.storeError("load", err)
	}
	c, err := UnmarshalCredentials(blob)
	if err != nil {
		return Credentials{}, m.loginError("load", err)
	}
	if c.Provider == "" {
		c.Provider = m.provider
	}
	return c, nil
}

// credentials is the slow path of Token and Credentials.
func (m *Manager) credentials(ctx context.Context, now time.Time) (Credentials, error) {
	cur, err := m.current(ctx, now)
	if err != nil {
		return Credentials{}, err
	}
	if !needsRefresh(cur, now, m.grace) {
		return cur, nil
	}
	if cur.Valid(now) && !m.mayRetry(cur, now) {
		// A refresh failed a moment ago (or the refresh token was refused):
		// keep serving the still-valid token rather than hammering the
		// token endpoint on every request.
		return cur, nil
	}
	r, err := m.refresh(ctx, refreshReq{reason: "expiring"})
	if err != nil {
		// The failure is recorded; a token that still works is served.
		fallback := r.creds
		if fallback.AccessToken == "" && !errors.Is(err, ErrLoginRequired) && !errors.Is(err, ErrCancelled) {
			fallback = cur
		}
		if fallback.Valid(m.clock.Now()) {
			return fallback, nil
		}
		return Credentials{}, err
	}
	return r.creds, nil
}

// mayRetry reports whether an on-demand refresh of cur may be attempted now:
// not while its refresh token stands refused, not inside the back-off after
// a transient failure.
func (m *Manager) mayRetry(cur Credentials, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life.needsLogin && cur.RefreshToken == m.life.rejected {
		return false
	}
	return m.life.failures == 0 ||
		(!now.Before(m.life.failedAt.Add(backoff(m.life.failures))) && !now.Before(m.life.notBefore))
}

// refreshReq says why a refresh is wanted, which decides whether, once the
// lock is held and the store re-read, one is still needed.
type refreshReq struct {
	reason string
	// force: refresh unless the stored access token is no longer seen.
	force bool
	seen  string
	// jitter: otherwise refresh only inside the grace window widened by
	// this much (the scheduler refreshes a little early).
	jitter time.Duration
}

// refreshResult is what every caller sharing one refresh receives.
type refreshResult struct {
	creds     Credentials // the newest credentials, even when err is set
	refreshed bool        // a token call was made and succeeded
}

// refresh runs the one refresh path. Concurrent callers share one run;
// each may stop waiting when its ctx ends, but the run itself completes.
// Forced and unforced callers share separate runs, because an unforced run
// may rightly decide nothing is needed; the store lock orders the two and
// the re-read under it keeps the second from spending a spent token.
func (m *Manager) refresh(ctx context.Context, req refreshReq) (refreshResult, error) {
	key := "refresh"
	if req.force {
		key = "force"
	}
	ch := m.flight.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return m.runRefresh(fctx, req)
	})
	select {
	case res := <-ch:
		r, _ := res.Val.(refreshResult)
		return r, res.Err
	case <-ctx.Done():
		return refreshResult{}, &Error{Provider: m.provider, Op: "refresh", Kind: ErrCancelled, Err: ctx.Err()}
	}
}

// runRefresh holds the store's lock across read, refresh and save, so
// another process doing the same waits and then finds the new credentials.
func (m *Manager) runRefresh(ctx context.Context, req refreshReq) (refreshResult, error) {
	unlock, err := m.store.Lock(ctx, m.provider)
	if err != nil {
		err = m.storeError("refresh", err)
		m.recordFailure(err, "")
		return refreshResult{}, err
	}
	defer unlock()

	cur, err := m.read(ctx)
	if err != nil {
		m.setCache(Credentials{}, err)
		return refreshResult{}, err
	}
	cur = m.recoverUnsaved(ctx, cur)
	m.setCache(cur, nil)
	now := m.clock.Now()

	if rejected := m.refused(cur); rejected != nil {
		return refreshResult{creds: cur}, rejected
	}
	if req.force && cur.AccessToken != req.seen {
		return refreshResult{creds: cur}, nil // someone else already renewed it
	}
	if !req.force && !cur.NeedsRefresh(now, window(cur, m.grace)+req.jitter) {
		return refreshResult{creds: cur}, nil
	}

	m.setRefreshing(true)
	m.publish(Event{Kind: RefreshStarted, Message: "refreshing (" + req.reason + ")",
		ExpiresAt: cur.ExpiresAt, Before: MaskRefresh(cur.RefreshToken)})
	next, err := m.refresher.Refresh(ctx, cur)
	m.setRefreshing(false)
	if err != nil {
		err = m.refreshError(err)
		m.recordFailure(err, cur.RefreshToken)
		return refreshResult{creds: cur}, err
	}
	if next.Provider == "" {
		next.Provider = m.provider
	}
	if next.LastRefresh.IsZero() {
		next.LastRefresh = now
	}

	// The server may have rotated the refresh token: the old one is spent,
	// so the new one is written down before anybody uses the new access
	// token.
	if err := m.persist(ctx, next); err != nil {
		m.keepUnsaved(next, cur.RefreshToken, err)
		m.setCache(next, nil)
		m.publish(Event{Kind: RefreshFailed, Message: "refreshed, but saving failed; kept in memory",
			ExpiresAt: next.ExpiresAt, Before: MaskRefresh(cur.RefreshToken), After: MaskRefresh(next.RefreshToken), Err: err})
		return refreshResult{creds: next, refreshed: true}, nil
	}
	m.setCache(next, nil)
	m.recordSuccess()
	msg := "refreshed; refresh token unchanged"
	if next.RefreshToken != cur.RefreshToken {
		msg = "refreshed; refresh token rotated"
	}
	m.publish(Event{Kind: RefreshSucceeded, Message: msg, ExpiresAt: next.ExpiresAt,
		Before: MaskRefresh(cur.RefreshToken), After: MaskRefresh(next.RefreshToken)})
	m.wake()
	return refreshResult{creds: next, refreshed: true}, nil
}

func (m *Manager) persist(ctx context.Context, c Credentials) error {
	blob, err := c.Marshal()
	if err != nil {
		return err
	}
	if err := m.store.Save(ctx, m.provider, blob); err != nil {
		return m.storeError("save", err)
	}
	return nil
}

// recoverUnsaved returns the refreshed credentials a failed save left in
// memory when the store still holds the ones they replaced, saving them now
// if it can.
func (m *Manager) recoverUnsaved(ctx context.Context, stored Credentials) Credentials {
	m.mu.Lock()
	unsaved, replaces := m.life.unsaved, m.life.replaces
	m.mu.Unlock()
	if unsaved == nil {
		return stored
	}
	if stored.RefreshToken != replaces {
		// A login or another process replaced them: ours are obsolete.
		m.mu.Lock()
		m.life.unsaved, m.life.replaces = nil, ""
		m.mu.Unlock()
		return stored
	}
	if err := m.persist(ctx, *unsaved); err == nil {
		m.mu.Lock()
		m.life.unsaved, m.life.replaces = nil, ""
		m.mu.Unlock()
	}
	return *unsaved
}

func (m *Manager) keepUnsaved(next Credentials, replaces string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.life.unsaved, m.life.replaces = &next, replaces
	m.life.lastErr = err
}

// refused returns the recorded login-required error when cur still carries
// the refresh token the server refused.
func (m *Manager) refused(cur Credentials) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life.needsLogin && cur.RefreshToken == m.life.rejected {
		return m.life.lastErr
	}
	return nil
}

func (m *Manager) setRefreshing(on bool) {
	m.mu.Lock()
	m.life.refreshing = on
	m.mu.Unlock()
}

// recordFailure remembers a failed refresh for Status and back-off, and
// announces it. refreshToken is the token that was refused, if one was.
func (m *Manager) recordFailure(err error, refreshToken string) {
	now := m.clock.Now()
	login := errors.Is(err, ErrLoginRequired)
	m.mu.Lock()
	m.life.lastErr = err
	if login {
		m.life.needsLogin, m.life.rejected = true, refreshToken
	} else {
		m.life.failures++
		m.life.failedAt = now
		m.life.notBefore = now.Add(serverWait(err))
	}
	m.mu.Unlock()
	m.publish(Event{Kind: RefreshFailed, Message: failureMessage(err), Err: err})
	if login {
		m.publish(Event{Kind: NeedsLogin, Message: "the refresh token was refused; run: ccproxy-tui auth login " + m.provider, Err: err})
	}
}

func failureMessage(err error) string {
	switch {
	case errors.Is(err, ErrLoginRequired):
		return "refresh refused: login required"
	case errors.Is(err, ErrTransient):
		return "refresh failed: temporary, will retry"
	case errors.Is(err, ErrMisconfigured):
		return "refresh failed: misconfigured"
	}
	return "refresh failed"
}

func (m *Manager) recordSuccess() {
	m.mu.Lock()
	m.life.lastErr = nil
	m.life.failures = 0
	m.life.failedAt, m.life.notBefore = time.Time{}, time.Time{}
	m.life.needsLogin, m.life.rejected = false, ""
	m.life.unsaved, m.life.replaces = nil, ""
	m.mu.Unlock()
}

// refreshError makes err an *Error naming this provider; a Refresher that
// returns a plain error is assumed to have met a temporary failure.
func (m *Manager) refreshError(err error) error {
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	return &Error{Provider: m.provider, Op: "refresh", Kind: ErrTransient, Err: err}
}

func (m *Manager) loginError(op string, err error) error {
	return &Error{Provider: m.provider, Op: op, Kind: ErrLoginRequired, Err: err}
}

// storeError classifies a store failure: unreadable credentials need a new
// login, a busy lock is temporary, a refused or missing backend needs the
// user to fix the storage.
func (m *Manager) storeError(op string, err error) error {
	switch {
	case errors.Is(err, store.ErrCorrupt), errors.Is(err, store.ErrNotFound):
		return m.loginError(op, err)
	case errors.Is(err, store.ErrUnavailable):
		// The backend's message already says how to fix it.
		return &Error{Provider: m.provider, Op: op, Kind: ErrMisconfigured, Err: err, causeHints: true}
	case errors.Is(err, store.ErrPermission), errors.Is(err, store.ErrInvalid):
		return &Error{Provider: m.provider, Op: op, Kind: ErrMisconfigured, Err: err,
			Hint: "check the credentials store at " + m.store.Location(m.provider)}
	}
	return &Error{Provider: m.provider, Op: op, Kind: ErrTransient, Err: err}
}

func (m *Manager) publish(e Event) {
	if m.bus == nil {
		return
	}
	e.Time = m.clock.Now()
	e.Provider = m.provider
	m.bus.Publish(e)
}

// wake tells the watching scheduler the credentials changed.
func (m *Manager) wake() {
	m.mu.Lock()
	notify := m.life.notify
	m.mu.Unlock()
	if notify != nil {
		notify()
	}
}

// watch installs (or, with nil, removes) the scheduler's wake-up.
func (m *Manager) watch(notify func()) {
	m.mu.Lock()
	m.life.notify = notify
	if notify == nil {
		m.life.nextRefresh, m.life.nextAttempt = time.Time{}, time.Time{}
	}
	m.mu.Unlock()
}

// plan records the scheduler's intentions for Status.
func (m *Manager) plan(nextRefresh, nextAttempt time.Time) {
	m.mu.Lock()
	m.life.nextRefresh, m.life.nextAttempt = nextRefresh, nextAttempt
	m.mu.Unlock()
}

// serverWait is the wait the server asked for (429 Retry-After), if any.
func serverWait(err error) time.Duration {
	var ae *Error
	if errors.As(err, &ae) {
		return max(ae.RetryAfter, 0)
	}
	return 0
}

// backoff is the wait after n consecutive transient failures: 5 s doubling
// up to 5 min.
func backoff(n int) time.Duration {
	const first, most = 5 * time.Second, 5 * time.Minute
	if n < 1 {
		return 0
	}
	d := first
	for i := 1; i < n && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}
