package auth

// renew.go is the Manager's one refresh path: on demand (the slow path of
// Token), forced (ForceRefresh), after an API's 401 (Rejected) and for the
// scheduler, every caller shares one single-flight run that holds the
// store's cross-process lock and re-reads the store before it asks the
// token endpoint.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// onDemandWait is how long a request whose token still works waits for a
// refresh it set off before going on with the current token.
const onDemandWait = time.Second

// refreshTimeout bounds one refresh (lock wait, token call, save) once it has
// started. The refresh does not end early when the caller that started it
// gives up: abandoning it after the server rotated the refresh token would
// lose the new token and log the user out.
const refreshTimeout = 2 * time.Minute

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
