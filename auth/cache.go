package auth

// cache.go is how the Manager reads credentials: Token and Credentials
// from an immutable cache entry without locking or I/O while it is fresh,
// else the store (current, reread, read), with the grace window that says
// when a token is due.

import (
	"context"
	"errors"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

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

// cacheEntry is an immutable snapshot of what the store held. Entries are
// replaced, never changed, so the hot path reads one without locking.
type cacheEntry struct {
	creds Credentials
	err   error     // the load error when nothing usable is stored
	stale time.Time // when the store must be read again
	// renew is when the token enters its grace window; zero means never.
	renew time.Time
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
	// "Nothing stored" is never trusted from the cache: another process (an
	// `auth login` in a second terminal) may have stored credentials since,
	// and a not-logged-in provider is no hot path worth saving a read on. A
	// corrupt record stays cached: it was moved aside on the first read, and
	// the cached error is what still says so.
	if old := m.cache.Load(); old != nil && now.Before(old.stale) && !errors.Is(old.err, errNotLoggedIn) {
		return old.creds, old.err
	}
	return m.reread(ctx)
}

// reread is current without the cache: what the store holds now (with
// pending credentials in place of the record they descend from).
func (m *Manager) reread(ctx context.Context) (Credentials, error) {
	old := m.cache.Load()
	c, err := m.load(ctx)
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
