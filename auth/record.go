package auth

// record.go is the stored record changing: a login saved here (Save), a
// logout (Logout), and any change another process made, which the store's
// watch hands to Reload so this process announces it and uses it at once.

import (
	"context"
	"errors"
	"fmt"
)

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

	m.restart(true)
	m.publish(Event{Kind: LoginSucceeded, Message: loginMessage(c.Email, ""), ExpiresAt: c.ExpiresAt, After: MaskRefresh(c.RefreshToken)})
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

	m.restart(false)
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
		m.restart(false)
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
		m.restart(true)
		m.publish(Event{Kind: LoginSucceeded, Message: loginMessage(c.Email, "in another process"), ExpiresAt: c.ExpiresAt,
			After: MaskRefresh(c.RefreshToken)})
	}
	m.wake()
}

// sameRecord reports whether two reads of the record say the same.
func sameRecord(a, b Credentials) bool {
	return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken &&
		a.ExpiresAt.Equal(b.ExpiresAt) && (a.RefreshRefused == nil) == (b.RefreshRefused == nil) &&
		a.AccountID == b.AccountID
}

// restart starts a new lifecycle: the record it was about has been
// replaced, so its failures, refusal and pending tokens are obsolete, and
// the pending tokens' mark in the store ends with them. With a record
// (stored) only the planned retry goes; without one nothing is left to plan.
func (m *Manager) restart(stored bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropPendingLocked()
	m.life = lifecycle{}
	if stored {
		m.sched.retried()
	} else {
		m.sched.unplanned()
	}
}

// loginMessage is a login's line on the bus: "logged in as ada@x.y in
// another process", the address and where left out when not known.
func loginMessage(email, where string) string {
	msg := "logged in"
	if email != "" {
		msg += " as " + email
	}
	if where != "" {
		msg += " " + where
	}
	return msg
}
