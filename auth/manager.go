package auth

// manager.go is the Manager: one provider's (or account's) credentials,
// its options and construction, and the mechanisms it holds, each with the
// file that uses it: the cache (cache.go), the one refresh path
// (renew.go), the failure record (failure.go), tokens kept in memory while
// the store is full (pending.go), changes of the stored record (record.go)
// and the scheduler's plan (plan.go).

import (
	"context"
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

	cache  atomic.Pointer[cacheEntry] // the lock-free read path (cache.go)
	flight singleflight.Group         // one refresh run per request kind (renew.go)
	// resident is set while this process keeps running (serve, the
	// dashboard): only then may it rotate a token whose successor the
	// store cannot take, because only then does someone keep it.
	resident atomic.Bool

	// wmu serialises this process's writes of the record (and the cache
	// update that follows) with Reload's comparison, so a change this
	// process made is never mistaken for one made elsewhere.
	wmu sync.Mutex

	mu    sync.Mutex // guards life and sched
	life  lifecycle
	sched schedule
}

// lifecycle is what the Manager remembers between refreshes for Status and
// for deciding whether to try again.
type lifecycle struct {
	refreshing bool
	lastErr    error
	failures   int       // consecutive transient failures
	failedAt   time.Time // the last of them
	notBefore  time.Time // the server's Retry-After, as a time
	needsLogin bool
	rejected   string // the refresh token the server refused
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

func (m *Manager) publish(e Event) {
	if m.bus == nil {
		return
	}
	e.Time = m.clock.Now()
	e.Provider, e.Account = m.provider, m.account
	m.bus.Publish(e)
}
