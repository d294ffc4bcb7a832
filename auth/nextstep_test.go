package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

func TestNextStep(t *testing.T) {
	t0 := lcT0
	exp := t0.Add(time.Hour)
	valid := Credentials{AccessToken: "a", RefreshToken: "r", ObtainedAt: t0, ExpiresAt: exp}
	const grace = 2 * time.Minute
	planned := exp.Add(-grace - 10*time.Second)
	transient := &Error{Provider: "p", Op: "refresh", Kind: ErrTransient, Err: errors.New("token endpoint answered 503")}
	lockTimeout := &Error{Provider: "p", Op: "refresh", Kind: ErrTransient, Err: store.ErrLockTimeout}
	limited := func(d time.Duration) error {
		return &Error{Provider: "p", Op: "refresh", Kind: ErrTransient, Code: "rate_limited", RetryAfter: d}
	}
	refused := &Error{Provider: "p", Op: "refresh", Kind: ErrLoginRequired, Code: "invalid_grant"}
	misconfigured := &Error{Provider: "p", Op: "refresh", Kind: ErrMisconfigured, Code: "invalid_client"}
	notLoggedIn := &Error{Provider: "p", Op: "token", Kind: ErrLoginRequired, Err: errNotLoggedIn}
	unreadable := &Error{Provider: "p", Op: "load", Kind: ErrTransient, Err: errors.New("keyring busy")}
	at := func(c Credentials) stored { return stored{creds: c, grace: grace} }
	failed := func(err error, retries int) outcome { return outcome{attempted: true, err: err, retries: retries} }

	for _, tc := range []struct {
		name    string
		now     time.Time
		st      stored
		last    outcome
		due     time.Time // zero: parked
		retry   bool
		retries int
	}{
		{name: "fresh login plans expiry − grace − jitter", now: t0, st: at(valid), due: planned},
		{name: "success plans the new token", now: planned, st: at(valid), last: outcome{attempted: true, refreshed: true}, due: planned},
		{name: "lock timeout with 1m23s left retries, never parks", now: exp.Add(-83 * time.Second), st: at(valid),
			last: failed(lockTimeout, 0), due: exp.Add(-78 * time.Second), retry: true, retries: 1},
		{name: "lock timeout keeps backing off", now: exp.Add(-110 * time.Second), st: at(valid),
			last: failed(lockTimeout, 2), due: exp.Add(-90 * time.Second), retry: true, retries: 3},
		{name: "failure with 10s left retries before expiry", now: exp.Add(-10 * time.Second), st: at(valid),
			last: failed(transient, 4), due: exp.Add(-5 * time.Second), retry: true, retries: 5},
		{name: "failure with 1.5s left waits the minimum", now: exp.Add(-1500 * time.Millisecond), st: at(valid),
			last: failed(transient, 6), due: exp.Add(-500 * time.Millisecond), retry: true, retries: 7},
		{name: "a refresh outliving the grace window retries soon after expiry", now: exp.Add(40 * time.Second), st: at(valid),
			last: failed(transient, 0), due: exp.Add(45 * time.Second), retry: true, retries: 1},
		{name: "long after expiry retries stay short", now: exp.Add(time.Hour), st: at(valid),
			last: failed(transient, 20), due: exp.Add(time.Hour + expiredRetry), retry: true, retries: 21},
		{name: "429 Retry-After is honoured", now: planned, st: at(valid),
			last: failed(limited(3*time.Minute), 0), due: planned.Add(3 * time.Minute), retry: true, retries: 1},
		{name: "429 Retry-After past expiry is honoured too", now: exp.Add(-time.Minute), st: at(valid),
			last: failed(limited(10*time.Minute), 0), due: exp.Add(9 * time.Minute), retry: true, retries: 1},
		{name: "an unreadable store is retried", now: t0, st: stored{err: unreadable, grace: grace},
			due: t0.Add(5 * time.Second), retry: true, retries: 1},
		{name: "refused refresh token parks", now: planned, st: at(valid), last: failed(refused, 3)},
		{name: "refusal stored by another process parks", now: t0, st: stored{creds: valid, refused: true, grace: grace}},
		{name: "misconfiguration parks", now: planned, st: at(valid), last: failed(misconfigured, 0)},
		{name: "not logged in parks", now: t0, st: stored{err: notLoggedIn, grace: grace}},
		{name: "a token that never expires parks", now: t0, st: at(Credentials{AccessToken: "a", RefreshToken: "r"})},
		{name: "resumed after the planned time: act now", now: planned.Add(50 * time.Second), st: at(valid), due: planned},
		{name: "resumed after expiry: act now", now: exp.Add(3 * time.Hour), st: at(valid), due: planned},
		{name: "clock set back: the plan follows the token, not the clock", now: t0.Add(-24 * time.Hour), st: at(valid), due: planned},
		{name: "nothing to refresh yet due: never spin", now: planned.Add(time.Second), st: at(valid),
			last: outcome{attempted: true}, due: planned.Add(2 * time.Second)},
		{name: "credentials kept in memory are offered to the store again", now: t0,
			st: stored{creds: valid, unsaved: true, grace: grace}, due: t0.Add(saveRetry)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nextStep(tc.now, tc.st, tc.last, 10*time.Second)
			if !got.due.Equal(tc.due) || got.retry != tc.retry || got.retries != tc.retries {
				t.Errorf("nextStep = due %v retry %v retries %d; want due %v retry %v retries %d",
					got.due, got.retry, got.retries, tc.due, tc.retry, tc.retries)
			}
		})
	}
}
