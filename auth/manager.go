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

// onDemandWait is how long a request whose token still works waits for a
// refresh it set off before going on with the current token.
const onDemandWait = time.Second

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
	Provider string
	// Account names which of the provider's accounts this Manager serves
	// (its Store is then that account's view); "" for the provider's one
	// record. It marks events and Status, and keeps the accounts of one
	// provider apart in a Scheduler.
	Account   string
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
	account   string
	refresher Refresher
	store     store.Store
	clock     clockwork.Clock
	grace     time.Duration
	ttl       time.Duration
	bus       *Bus

	cache  atomic.Pointer[cacheEntry]
	flight singleflight.Group
	// resident is set while this process keeps running (serve, the
	// dashboard): only then may it rotate a token whose successor the
	// store cannot take, because only then does someone keep it.
	resident atomic.Bool

	// wmu serialises this process's writes of the record (and the cache
	// update that follows) with Reload's comparison, so a change this
	// process made is never mistaken for one made elsewhere.
	wmu sync.Mutex

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
	// pending holds refreshed credentials the store could not take yet,
	// and base is the refresh token of the record the store still holds
	// (the one pending descends from). While the store holds base, pending
	// is the newest truth: it is served, refreshed from and written as soon
	// as the store accepts it. A store holding anything else (a login, a
	// logout, another process's refresh) makes pending obsolete.
	pending *Credentials
	base    string
	// unhold ends the store's mark that pending exists (store.Holder), so
	// other processes do not refresh from base meanwhile; nil without one.
	unhold func()
	notify func() // the scheduler's wake-up, when one watches this manager
}

// NewManager returns the Manager of one provider.
func NewManager(opts ManagerOptions) *Manager {
	m := &Manager{
		provider:  opts.Provider,
		account:   opts.Account,
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

// Account is the name of the account this Manager serves; "" for the
// provider's one record.
func (m *Manager) Account() string { return m.account }

// key tells this Manager apart from the other accounts of its provider.
func (m *Manager) key() string {
	if m.account == "" {
		return m.provider
	}
	return m.provider + "@" + m.account
}

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

// ForceRefresh renews the credentials now, whatever their expiry: `auth
// refresh` and the dashboard's refresh key. If the stored token is no
// longer the one this Manager last handed out (another goroutine or
// process renewed it meanwhile), that newer token is returned instead of
// spending the refresh token again. A refresh whose new tokens could not
// be written returns them with an *UnsavedError.
func (m *Manager) ForceRefresh(ctx context.Context) (Credentials, error) {
	cur, err := m.current(ctx, m.clock.Now())
	if err != nil {
		return Credentials{}, err
	}
	r, err := m.refresh(ctx, refreshReq{force: true, seen: cur.AccessToken, reason: "forced"})
	if err != nil {
		return r.creds, err
	}
	if r.unsaved != nil && !m.resident.Load() {
		return r.creds, r.unsaved
	}
	return r.creds, nil
}

// Rejected answers an API's 401 for the access token rejected: when that
// token was already replaced (by a refresh here or in another process),
// the current credentials come back without any refresh; otherwise one
// refresh runs, shared by every caller holding the same rejected token. A
// token endpoint that failed a moment ago is not asked again before its
// back-off ends: that is a temporary error, with RetryAfter set.
func (m *Manager) Rejected(ctx context.Context, rejected string) (Credentials, error) {
	now := m.clock.Now()
	cur, err := m.current(ctx, now)
	if err == nil && cur.AccessToken == rejected {
		// The watcher may not have delivered another process's refresh
		// yet: the store is the truth.
		cur, err = m.reread(ctx)
	}
	if err != nil {
		return Credentials{}, err
	}
	if cur.AccessToken != rejected {
		return cur, nil
	}
	if rerr := m.refused(cur); rerr != nil {
		return Credentials{}, rerr
	}
	if wait := m.backingOff(now); wait > 0 {
		return Credentials{}, &Error{Provider: m.provider, Op: "refresh", Kind: ErrTransient, RetryAfter: wait,
			Err: fmt.Errorf("the API rejected the access token and the token endpoint failed a moment ago: %w", m.lastError())}
	}
	r, err := m.refresh(ctx, refreshReq{force: true, seen: rejected, reason: "rejected by the API"})
	if err != nil {
		return Credentials{}, err
	}
	if r.creds.AccessToken == rejected {
		return Credentials{}, &Error{Provider: m.provider, Op: "refresh", Kind: ErrTransient,
			Err: errors.New("the API rejected the access token and no newer one could be obtained")}
	}
	return r.creds, nil
}

// UnsavedError says a refresh succeeded but its new tokens could not be
// written. The old refresh token is spent, so the new ones exist only in
// this process's memory.
type UnsavedError struct {
	Provider string
	Location string
	Err      error
}

func (e *UnsavedError) Error() string {
	return fmt.Sprintf("refreshed %s, but the new tokens could not be written to %s: %v; the old refresh token is spent and the new one is lost when this command exits, so %s needs a new login once the current access token expires; free the disk, then run: ccproxy-tui auth login %s",
		e.Provider, e.Location, e.Err, e.Provider, e.Provider)
}

func (e *UnsavedError) Unwrap() error { return e.Err }

// KeepUnsaved says whether this process keeps running (serve, the
// dashboard), so that it may rotate a token the store cannot take yet and
// hold the result until the store accepts it. Off, a refresh whose
// successor cannot be written is not attempted while the current token
// still works.
func (m *Manager) KeepUnsaved(on bool) { m.resident.Store(on) }

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
	c.RefreshRefused = nil
	blob, err := c.Marshal()
	if err != nil {
		return &Error{Provider: m.provider, Op: "save", Kind: ErrMisconfigured, Err: err}
	}
	unlock, err := m.store.Lock(ctx, m.provider)
	if err != nil {
		return m.storeError("save", err)
	}
	m.wmu.Lock()
	if err := m.store.Save(ctx, m.provider, blob); err != nil {
		m.wmu.Unlock()
		unlock()
		return m.storeError("save", err)
	}
	m.setCache(c, nil)
	m.wmu.Unlock()
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
	m.wmu.Lock()
	if err := m.store.Delete(ctx, m.provider); err != nil {
		m.wmu.Unlock()
		unlock()
		return m.storeError("logout", err)
	}
	m.setCache(Credentials{}, m.loginError("token", errNotLoggedIn))
	m.wmu.Unlock()
	unlock()

	m.mu.Lock()
	m.life = lifecycle{notify: m.life.notify}
	m.mu.Unlock()

	m.publish(Event{Kind: LoggedOut, Message: "logged out", Before: before})
	m.wake()
	return nil
}

// Reload rereads the store after it may have been changed by another
// process (the store's Watch says when), so this process shows and uses
// the same credentials at once: a login, a logout, an import, a refresh or
// a refused refresh made elsewhere is announced on the bus and wakes the
// scheduler. A change this process made itself is not announced again.
func (m *Manager) Reload(ctx context.Context) {
	m.wmu.Lock()
	old := m.cache.Load()
	c, err := m.load(ctx)
	var corrupt bool
	if err != nil && !errors.Is(err, errNotLoggedIn) && errors.Is(err, ErrLoginRequired) {
		corrupt = true
	}
	if err != nil && !errors.Is(err, ErrLoginRequired) {
		// The store could not be read just now (a busy keyring): keep
		// what is known; the next change or read tries again.
		m.wmu.Unlock()
		return
	}
	var was Credentials
	if old != nil && old.err == nil {
		was = old.creds
	}
	same := old != nil && ((err == nil && old.err == nil && sameRecord(old.creds, c)) ||
		(err != nil && old.err != nil && !corrupt))
	if !same {
		m.setCache(c, err)
	}
	m.wmu.Unlock()
	if same {
		return
	}

	switch {
	case err != nil:
		m.mu.Lock()
		m.life = lifecycle{notify: m.life.notify}
		m.mu.Unlock()
		if was.AccessToken != "" {
			m.publish(Event{Kind: LoggedOut, Message: "logged out in another process", Before: MaskRefresh(was.RefreshToken)})
		}
	case c.RefreshRefused != nil:
		m.mu.Lock()
		m.life.needsLogin, m.life.rejected = true, c.RefreshToken
		m.life.lastErr = m.refusalError(c)
		m.mu.Unlock()
		m.publish(Event{Kind: NeedsLogin, Message: "refresh refused in another process — log in again; run: ccproxy-tui auth login " + m.provider,
			Err: m.refusalError(c)})
	case was.AccessToken != "" && c.LastRefresh.After(was.LastRefresh):
		m.recordSuccess()
		m.publish(Event{Kind: RefreshSucceeded, Message: "refreshed in another process", ExpiresAt: c.ExpiresAt,
			Before: MaskRefresh(was.RefreshToken), After: MaskRefresh(c.RefreshToken)})
	default:
		// A login or an import replaced the record.
		m.mu.Lock()
		m.life = lifecycle{notify: m.life.notify, nextRefresh: m.life.nextRefresh}
		m.mu.Unlock()
		msg := "logged in in another process"
		if c.Email != "" {
			msg = "logged in as " + c.Email + " in another process"
		}
		m.publish(Event{Kind: LoginSucceeded, Message: msg, ExpiresAt: c.ExpiresAt, After: MaskRefresh(c.RefreshToken)})
	}
	m.wake()
}

// sameRecord reports whether two reads of the record say the same.
func sameRecord(a, b Credentials) bool {
	return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken &&
		a.ExpiresAt.Equal(b.ExpiresAt) && (a.RefreshRefused == nil) == (b.RefreshRefused == nil) &&
		a.AccountID == b.AccountID
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
	c, err := m.load(ctx)
	// Install only if nothing newer (a refresh, a login, a logout) replaced
	// the entry while the store was being read.
	m.cache.CompareAndSwap(old, m.entry(c, err))
	return c, err
}

// reread is current without the cache.
func (m *Manager) reread(ctx context.Context) (Credentials, error) {
	old := m.cache.Load()
	c, err := m.load(ctx)
	m.cache.CompareAndSwap(old, m.entry(c, err))
	return c, err
}

// errNotLoggedIn is the cause when the store holds nothing for a provider.
var errNotLoggedIn = errors.New("not logged in")

// load is read with the pending credentials put in place of the record
// they descend from.
func (m *Manager) load(ctx context.Context) (Credentials, error) {
	c, err := m.read(ctx)
	return m.adopt(c, err)
}

// adopt returns the pending credentials instead of what the store holds
// (c, err) while the store still holds the record they descend from.
func (m *Manager) adopt(c Credentials, err error) (Credentials, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life.pending == nil {
		return c, err
	}
	if err != nil && !errors.Is(err, ErrLoginRequired) {
		return *m.life.pending, nil // the store is unreadable now; ours is newest
	}
	if err == nil && c.RefreshToken == m.life.base {
		return *m.life.pending, nil
	}
	// A login, a logout or another process's refresh replaced the record
	// pending descends from: pending is obsolete.
	m.dropPendingLocked()
	return c, err
}

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
	wait := ctx
	if cur.Valid(now) {
		// A request with a token that still works is not held up by a
		// slow refresh (a token endpoint that stalls, a lock another
		// process holds): it waits briefly, then goes on with the current
		// token while the refresh carries on.
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, onDemandWait)
		defer cancel()
	}
	r, err := m.refresh(wait, refreshReq{reason: "expiring"})
	if err != nil {
		// The failure is recorded; a token that still works is served.
		fallback := r.creds
		gaveUp := errors.Is(err, ErrCancelled) && ctx.Err() == nil // our brief wait ended, not the caller
		if fallback.AccessToken == "" && !errors.Is(err, ErrLoginRequired) && (gaveUp || !errors.Is(err, ErrCancelled)) {
			fallback = cur
		}
		if fallback.Valid(m.clock.Now()) {
			return fallback, nil
		}
		if !gaveUp {
			return Credentials{}, err
		}
		// The token ran out during the brief wait: wait on for the
		// refresh, as a request that came with an expired token does.
		if r, err = m.refresh(ctx, refreshReq{reason: "expiring"}); err != nil {
			return Credentials{}, err
		}
	}
	return r.creds, nil
}

// mayRetry reports whether an on-demand refresh of cur may be attempted now:
// not while its refresh token stands refused, not inside the back-off after
// a transient failure.
func (m *Manager) mayRetry(cur Credentials, now time.Time) bool {
	if cur.RefreshRefused != nil {
		return false
	}
	m.mu.Lock()
	refused := m.life.needsLogin && cur.RefreshToken == m.life.rejected
	m.mu.Unlock()
	return !refused && m.backingOff(now) == 0
}

// backingOff is how long the back-off after transient failures still
// lasts at now; zero when a refresh may be tried.
func (m *Manager) backingOff(now time.Time) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life.failures == 0 {
		return 0
	}
	until := m.life.failedAt.Add(backoff(m.life.failures))
	if m.life.notBefore.After(until) {
		until = m.life.notBefore
	}
	return max(0, until.Sub(now))
}

func (m *Manager) lastError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life.lastErr == nil {
		return errors.New("no details")
	}
	return m.life.lastErr
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
	// unsaved is set when the new credentials could not be written and
	// live only in this process's memory.
	unsaved *UnsavedError
}

// refresh runs the one refresh path. Concurrent callers share one run;
// each may stop waiting when its ctx ends, but the run itself completes.
// Forced callers share a run per access token they want replaced, and
// unforced callers another, because an unforced run may rightly decide
// nothing is needed; the store lock orders the runs and the re-read under
// it keeps a later one from spending a spent token.
func (m *Manager) refresh(ctx context.Context, req refreshReq) (refreshResult, error) {
	key := "refresh"
	if req.force {
		key = "force:" + req.seen
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

// urgent reports whether c is so close to expiry that it is rotated even
// when its successor cannot be written yet: within half its grace window.
func (m *Manager) urgent(c Credentials, now time.Time) bool {
	return !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt.Add(-window(c, m.grace)/2))
}

// runRefresh holds the store's lock across read, refresh and save, so
// another process doing the same waits and then finds the new credentials.
// Before the server is asked to rotate, room for the new record is
// reserved; when there is none and the current token still has time, it
// is kept rather than rotated into a record that cannot be written.
func (m *Manager) runRefresh(ctx context.Context, req refreshReq) (refreshResult, error) {
	unlock, err := m.store.Lock(ctx, m.provider)
	if err != nil {
		err = m.storeError("refresh", err)
		m.recordFailure(err, "")
		return refreshResult{}, err
	}
	defer unlock()

	stored, err := m.read(ctx)
	cur, err := m.adopt(stored, err)
	if err != nil {
		m.setCache(Credentials{}, err)
		return refreshResult{}, err
	}
	m.flushPending(ctx, cur)
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

	if m.heldElsewhere() {
		err := &Error{Provider: m.provider, Op: "refresh", Kind: ErrTransient,
			Err: fmt.Errorf("another ccproxy-tui process holds newer tokens than %s, which it could not write yet, so the refresh token stored there is spent",
				m.store.Location(m.provider)),
			Hint: "free space on that disk; this process takes the newer tokens as soon as they are written"}
		m.recordFailure(err, "")
		return refreshResult{creds: cur}, err
	}
	var room store.Reservation
	if r, ok := m.store.(store.Reserver); ok {
		room, err = r.Reserve(ctx, m.provider)
		if err != nil {
			rerr := &Error{Provider: m.provider, Op: "refresh", Kind: ErrTransient,
				Err: fmt.Errorf("the credentials store at %s cannot take new tokens, so the current ones stay in use: %w",
					m.store.Location(m.provider), err),
				Hint: "free space on that disk, then try again"}
			// A process that exits soon (the CLI) never rotates into a
			// record it cannot write: nobody would keep the result.
			if !m.resident.Load() || (cur.Valid(now) && !m.urgent(cur, now)) {
				m.recordFailure(rerr, "")
				return refreshResult{creds: cur}, rerr
			}
			// About to expire: rotate anyway so requests keep working; the
			// result is kept in memory until the store takes it.
			room = nil
		}
	}
	if room != nil {
		defer room.Release()
	}

	m.setRefreshing(true)
	m.publish(Event{Kind: RefreshStarted, Message: "refreshing (" + req.reason + ")",
		ExpiresAt: cur.ExpiresAt, Before: MaskRefresh(cur.RefreshToken)})
	next, err := m.refresher.Refresh(ctx, cur)
	m.setRefreshing(false)
	if err != nil {
		err = m.refreshError(err)
		m.recordFailure(err, cur.RefreshToken)
		if errors.Is(err, ErrLoginRequired) {
			m.recordRefusal(ctx, cur, stored, err)
		}
		return refreshResult{creds: cur}, err
	}
	if next.Provider == "" {
		next.Provider = m.provider
	}
	if next.LastRefresh.IsZero() {
		next.LastRefresh = now
	}
	next.RefreshRefused = nil

	// The server may have rotated the refresh token: the old one is spent,
	// so the new one is written down before anybody uses the new access
	// token.
	m.wmu.Lock()
	err = m.persist(ctx, room, next)
	if err != nil {
		m.keepPending(next, stored.RefreshToken, m.storeError("save", err))
	}
	m.setCache(next, nil)
	m.wmu.Unlock()
	if err != nil {
		unsaved := &UnsavedError{Provider: m.provider, Location: m.store.Location(m.provider), Err: err}
		m.publish(Event{Kind: RefreshFailed, Message: "refreshed, but the new tokens could not be written; they are kept in memory and written as soon as the store accepts them",
			ExpiresAt: next.ExpiresAt, Before: MaskRefresh(cur.RefreshToken), After: MaskRefresh(next.RefreshToken), Err: err})
		m.wake()
		return refreshResult{creds: next, refreshed: true, unsaved: unsaved}, nil
	}
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

// persist writes c into the reserved room, or saves it when there is none.
func (m *Manager) persist(ctx context.Context, room store.Reservation, c Credentials) error {
	blob, err := c.Marshal()
	if err != nil {
		return err
	}
	if room != nil {
		return room.Commit(ctx, blob)
	}
	return m.store.Save(ctx, m.provider, blob)
}

func (m *Manager) pendingCreds() *Credentials {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.life.pending
}

// HasUnsaved reports whether refreshed credentials are waiting in memory
// for the store to accept them.
func (m *Manager) HasUnsaved() bool { return m.pendingCreds() != nil }

// flushPending writes the pending credentials when cur is them; the store
// lock is held.
func (m *Manager) flushPending(ctx context.Context, cur Credentials) {
	p := m.pendingCreds()
	if p == nil || p.RefreshToken != cur.RefreshToken {
		return
	}
	m.wmu.Lock()
	err := m.persist(ctx, nil, *p)
	m.wmu.Unlock()
	if err != nil {
		return
	}
	m.mu.Lock()
	if m.life.pending == p {
		m.dropPendingLocked()
		if m.life.failures == 0 {
			m.life.lastErr = nil
		}
	}
	m.mu.Unlock()
	m.publish(Event{Kind: RefreshSucceeded, Message: "the refreshed tokens kept in memory are written to the store now",
		ExpiresAt: p.ExpiresAt, After: MaskRefresh(p.RefreshToken)})
}

// keepPending remembers next, which the store refused, as the newest
// credentials; base is the refresh token of the record still stored.
func (m *Manager) keepPending(next Credentials, base string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life.pending == nil {
		m.life.base = base
		if h, ok := m.store.(store.Holder); ok {
			m.life.unhold = h.Hold(m.provider)
		}
	}
	m.life.pending = &next
	m.life.lastErr = err
}

// dropPendingLocked forgets the pending credentials and ends their mark;
// m.mu is held.
func (m *Manager) dropPendingLocked() {
	m.life.pending, m.life.base = nil, ""
	if m.life.unhold != nil {
		m.life.unhold()
		m.life.unhold = nil
	}
}

// heldElsewhere reports whether another process keeps newer credentials
// than the stored record in memory, so the stored refresh token is spent.
func (m *Manager) heldElsewhere() bool {
	h, ok := m.store.(store.Holder)
	return ok && m.pendingCreds() == nil && h.HeldElsewhere(m.provider)
}

// refused returns the login-required error when cur carries a refresh
// token the server refused: recorded in the stored record by whichever
// process was refused, or remembered here.
func (m *Manager) refused(cur Credentials) error {
	if cur.RefreshRefused != nil {
		return m.refusalError(cur)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life.needsLogin && cur.RefreshToken == m.life.rejected {
		return m.life.lastErr
	}
	return nil
}

// refusalError is the login-required error a stored refusal stands for.
func (m *Manager) refusalError(c Credentials) error {
	reason := "the server refused the refresh token"
	if c.RefreshRefused != nil && c.RefreshRefused.Reason != "" {
		reason += ": " + c.RefreshRefused.Reason
	}
	return &Error{Provider: m.provider, Op: "refresh", Kind: ErrLoginRequired, Err: errors.New(reason)}
}

// recordRefusal writes the refusal into the stored record, so every
// process, now and later, says "log in again" instead of trying the
// refused token once more. The store lock is held. Best effort: a store
// that cannot take it still has this process's memory of it.
func (m *Manager) recordRefusal(ctx context.Context, cur, stored Credentials, err error) {
	if stored.RefreshToken != cur.RefreshToken {
		return // the refused token is a pending one; the store never had it
	}
	reason := "refused"
	var ae *Error
	if errors.As(err, &ae) && ae.Code != "" {
		reason = ae.Code
	}
	marked := cur
	marked.RefreshRefused = &Refusal{At: m.clock.Now(), Reason: reason}
	m.wmu.Lock()
	if m.persist(ctx, nil, marked) == nil {
		m.setCache(marked, nil)
	}
	m.wmu.Unlock()
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
	m.dropPendingLocked()
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
	e.Provider, e.Account = m.provider, m.account
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
