package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
)

// State is a provider's place in the credential lifecycle, as the dashboard
// and `auth status` show it.
type State string

// The states. StateRetrying and StateNeedsLogin are never confused: the first
// will fix itself, the second needs the user.
const (
	StateOK         State = "ok"
	StateExpiring   State = "expiring"
	StateRefreshing State = "refreshing"
	StateRetrying   State = "retrying"
	StateExpired    State = "expired"
	StateNeedsLogin State = "needs_login"
	// StateUnavailable means the credentials store could not be read (no
	// secret service, a permission error): the credentials may be fine,
	// but nothing can be said about them until the storage is fixed.
	StateUnavailable State = "unavailable"
)

// Status is everything a screen or script may know about one provider. Its
// JSON form is exactly the `auth status --json` element of DESIGN.md; the
// fields tagged "-" feed the dashboard only.
type Status struct {
	Provider            string     `json:"provider"`
	Authenticated       bool       `json:"authenticated"`
	Reason              string     `json:"reason,omitempty"`
	AccountID           string     `json:"account_id"`
	Email               string     `json:"email"`
	Plan                string     `json:"plan"`
	ExpiresAt           *time.Time `json:"expires_at"`
	ExpiresIn           int64      `json:"expires_in"`
	AccessTokenPreview  string     `json:"access_token_preview"`
	RefreshTokenPreview string     `json:"refresh_token_preview"`
	Scopes              []string   `json:"scopes"`
	Storage             string     `json:"storage"`
	LastRefresh         *time.Time `json:"last_refresh"`
	LastError           string     `json:"last_error"`
	// Account is the account's name, Active whether requests to
	// /<provider>/ use it (the caller that knows the accounts sets it).
	Account string `json:"account"`
	Active  bool   `json:"active"`

	State State `json:"-"`
	// NextRefresh is when the scheduler will refresh next (zero: not scheduled).
	NextRefresh time.Time `json:"-"`
	// NextAttempt is when a retrying refresh tries again.
	NextAttempt time.Time `json:"-"`
	// ObtainedAt is when the current access token was issued to us.
	ObtainedAt time.Time `json:"-"`
}

// expiringWithin is when a valid token starts showing as expiring: inside
// the grace window, or with less than this left, whichever is longer. A
// scheduler normally renews before either, so "expiring" on screen means
// renewal is late or failing.
const expiringWithin = 5 * time.Minute

// Status reports where the provider's credentials stand, for `auth status`
// and the dashboard. It reads the cache or the store and never refreshes.
// States are decided in this order: needs_login, refreshing, retrying,
// expired, expiring, ok; so a refused refresh token is never shown as a
// retry, and a retry is never shown as needing a login.
//
// Every text field is safe to print: account names, plans and error texts
// came from a server or a file, and are shown escaped (termsafe.Line).
func (m *Manager) Status(ctx context.Context) Status { return m.status(ctx).safe() }

// safe escapes every field that holds outside text.
func (st Status) safe() Status {
	for _, f := range []*string{&st.Reason, &st.AccountID, &st.Email, &st.Plan, &st.Storage, &st.LastError} {
		*f = termsafe.Line(*f)
	}
	st.Scopes = append([]string{}, st.Scopes...)
	for i, s := range st.Scopes {
		st.Scopes[i] = termsafe.Line(s)
	}
	return st
}

func (m *Manager) status(ctx context.Context) Status {
	now := m.clock.Now()
	// Scopes is never null in JSON, so `jq '.[].scopes[]'` works for every provider.
	st := Status{Provider: m.provider, Account: m.account, Storage: m.store.Location(m.provider), Scopes: []string{}}
	c, err := m.current(ctx, now)

	m.mu.Lock()
	life, sched := m.life, m.sched
	m.mu.Unlock()
	if life.lastErr != nil {
		st.LastError = life.lastErr.Error()
	}
	if err != nil {
		st.State = StateNeedsLogin
		st.Reason = loginReason(err, m.provider)
		if !errors.Is(err, ErrLoginRequired) {
			st.Reason = err.Error()
			// The store could not be read: say so, but the credentials
			// themselves may be fine.
			st.State = StateUnavailable
		}
		return st
	}

	st.AccountID, st.Email, st.Plan = c.AccountID, c.Email, c.Plan
	st.AccessTokenPreview = MaskAccess(c.AccessToken)
	st.RefreshTokenPreview = MaskRefresh(c.RefreshToken)
	st.Scopes = append(st.Scopes, c.Scopes...)
	st.ObtainedAt = c.ObtainedAt
	if !c.ExpiresAt.IsZero() {
		at := c.ExpiresAt
		st.ExpiresAt = &at
		st.ExpiresIn = int64(c.ExpiresIn(now) / time.Second)
	}
	if !c.LastRefresh.IsZero() {
		at := c.LastRefresh
		st.LastRefresh = &at
	}
	st.NextRefresh = sched.nextRefresh
	valid := c.Valid(now)
	refused := c.RefreshRefused != nil || (life.needsLogin && c.RefreshToken == life.rejected)

	switch {
	case refused:
		st.State = StateNeedsLogin
		st.Authenticated = valid
		st.Reason = "refresh refused — log in again; run: ccproxy-tui auth login " + m.provider
		if valid {
			st.Reason = "refresh refused — log in again; the access token works until it expires; run: ccproxy-tui auth login " + m.provider
		}
		if errAccountChanged(life.lastErr) || (c.RefreshRefused != nil && c.RefreshRefused.Reason == CodeAccountChanged) {
			st.Reason = "the refresh answered for another account, so it was not saved; log in again: ccproxy-tui auth login " + m.provider
		}
		if st.LastError == "" {
			st.LastError = m.refusalError(c).Error()
		}
		st.NextRefresh = time.Time{}
	case life.refreshing:
		st.State = StateRefreshing
		st.Authenticated = true
	case !sched.nextAttempt.IsZero():
		st.State = StateRetrying
		st.Authenticated = true
		st.NextAttempt = sched.nextAttempt
		st.Reason = "refresh failed; retrying at " + sched.nextAttempt.UTC().Format(time.RFC3339)
	case !valid && !c.CanRefresh():
		st.State = StateNeedsLogin
		st.Reason = "the access token expired and there is no refresh token; run: ccproxy-tui auth login " + m.provider
	case !valid:
		st.State = StateExpired
		st.Authenticated = true
		st.Reason = "the access token expired; the next request refreshes it"
		if m.heldElsewhere() {
			st.Reason = "another ccproxy-tui process holds newer tokens, which the full disk could not take; it writes them as soon as the disk has room"
		}
	case !c.ExpiresAt.IsZero() && c.ExpiresAt.Sub(now) <= max(window(c, m.grace), expiringWithin):
		st.State = StateExpiring
		st.Authenticated = true
	default:
		st.State = StateOK
		st.Authenticated = true
	}
	return st
}

// StateAt is the state s reads as at now, for a screen that redraws a
// status between reads: a token that was valid when s was read and has
// expired since is expired, one that has since come within five minutes of
// expiry is expiring. States that do not follow from the clock (needs
// login, refreshing, retrying) stay as they were.
func (s Status) StateAt(now time.Time) State {
	if s.ExpiresAt == nil || s.ExpiresAt.IsZero() {
		return s.State
	}
	switch s.State {
	case StateOK, StateExpiring:
		if !now.Before(*s.ExpiresAt) {
			return StateExpired
		}
		if s.ExpiresAt.Sub(now) <= expiringWithin {
			return StateExpiring
		}
	}
	return s.State
}

// loginReason says why a login is needed and how to do it, once:
// "not logged in; run: ccproxy-tui auth login claude".
func loginReason(err error, provider string) string {
	msg := err.Error()
	var ae *Error
	if errors.As(err, &ae) && ae.Err != nil {
		msg = ae.Err.Error()
	}
	if !strings.Contains(msg, "auth login") {
		msg += "; run: ccproxy-tui auth login " + provider
	}
	return msg
}
