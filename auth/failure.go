package auth

// failure.go is what the Manager remembers of failed refreshes: the
// back-off after temporary failures and the server's Retry-After, a refused
// refresh token (here and in the stored record, for every process), and the
// typed errors store and refresher failures become.

import (
	"context"
	"errors"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

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
