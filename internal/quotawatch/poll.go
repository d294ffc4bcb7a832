package quotawatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// The polling rules: ask a usage endpoint only when nothing passive is
// fresher than PassiveFresh, at most once per PollEvery per account, and
// never before the server's Retry-After.
const (
	PassiveFresh = 10 * time.Minute
	PollEvery    = 5 * time.Minute
	// pollTimeout bounds one ask; a slow endpoint must not hold a `quota`
	// run or the dashboard's poll for long.
	pollTimeout = 10 * time.Second
	// maxBody bounds what is read of an endpoint's answer.
	maxBody = 1 << 20
)

// Target is one account whose quota may be asked of its provider's usage
// endpoint.
type Target struct {
	Provider, Account string
	// Request builds the GET with valid credentials (it may refresh).
	Request func(ctx context.Context) (*http.Request, error)
	// MissingScope is set when the login is known to lack the scope the
	// endpoint needs; Scope names it for the notice.
	MissingScope bool
	Scope        string
}

// Outcome is what one Poll did.
type Outcome int

// The outcomes.
const (
	Skipped     Outcome = iota // fresh enough, too soon, or traffic only
	Observed                   // the endpoint answered and its quota is kept
	Deferred                   // the endpoint said 429/503: asked again after its Retry-After
	TrafficOnly                // the endpoint refuses this login: from now on the quota comes from traffic
)

// Result is Poll's report. Notice is set once, the first time an account
// turns out to be traffic-only (in any process sharing the state), for the
// caller to show; never again after.
type Result struct {
	Outcome Outcome
	Notice  string
}

// PollOptions add polling to a Watcher.
type PollOptions struct {
	// Client asks the endpoints; nil means a client with no other limit
	// than the per-ask timeout.
	Client *http.Client
	// StateDir holds the shared schedule (PollStateFile); "" keeps it in
	// this process.
	StateDir string
}

// EnablePolling lets Poll ask usage endpoints with opts.
func (w *Watcher) EnablePolling(opts PollOptions) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.client = opts.Client
	if w.client == nil {
		w.client = &http.Client{}
	}
	if opts.StateDir != "" {
		w.polls = filePollState{path: filepath.Join(opts.StateDir, PollStateFile)}
	} else {
		w.polls = &memoryPollState{}
	}
}

// Poll asks t's usage endpoint when the rules allow it, keeps what it
// answers, and reports what it did. Errors are the endpoint's or the
// network's; the next try waits PollEvery like a success would.
func (w *Watcher) Poll(ctx context.Context, t Target) (Result, error) {
	w.mu.Lock()
	client, polls := w.client, w.polls
	w.mu.Unlock()
	if polls == nil {
		return Result{}, errors.New("quota polling is not enabled")
	}
	now := w.clock.Now()
	if w.passiveSince(ctx, t, now) {
		return Result{}, nil
	}
	key := t.Provider + "/" + t.Account
	claim := false
	rec, err := polls.update(ctx, key, func(r *pollRecord) {
		switch {
		case r.TrafficOnly:
		case t.MissingScope:
			r.TrafficOnly, r.Reason = true, fmt.Sprintf("the login lacks the %s scope", t.Scope)
		case now.Before(r.NotBefore), !r.LastAttempt.IsZero() && now.Sub(r.LastAttempt) < PollEvery:
		default:
			r.LastAttempt, claim = now, true
		}
	})
	if err != nil {
		return Result{}, err
	}
	if rec.TrafficOnly {
		return w.trafficOnly(ctx, polls, key, t, rec)
	}
	if !claim {
		return Result{}, nil
	}
	return w.ask(ctx, client, polls, key, t)
}

// passiveSince reports whether a response has carried t's quota within
// PassiveFresh, so asking would tell nothing new.
func (w *Watcher) passiveSince(ctx context.Context, t Target, now time.Time) bool {
	all, _ := w.Latest(ctx)
	for _, s := range all {
		if s.Provider != t.Provider || s.Account != t.Account {
			continue
		}
		for _, win := range s.Windows {
			if win.Source == quota.FromHeaders && now.Sub(win.ObservedAt) < PassiveFresh {
				return true
			}
		}
	}
	return false
}

// trafficOnly returns the notice the first time; the record remembers it
// was given.
func (w *Watcher) trafficOnly(ctx context.Context, polls pollState, key string, t Target, rec pollRecord) (Result, error) {
	if rec.Reason == "" {
		return Result{Outcome: TrafficOnly}, nil
	}
	notice := fmt.Sprintf("%s: quota from traffic only (%s; its usage endpoint will not answer)", t.Provider, rec.Reason)
	if t.Scope != "" {
		notice += fmt.Sprintf("; to see it without traffic, log in again granting %s: ccproxy-tui auth login %s", t.Scope, t.Provider)
	}
	// Reason cleared: the notice is given once, whichever process gives it.
	if _, err := polls.update(ctx, key, func(r *pollRecord) { r.Reason = "" }); err != nil {
		return Result{Outcome: TrafficOnly}, err
	}
	w.log.Info("quota: traffic only", "provider", t.Provider, "reason", rec.Reason)
	return Result{Outcome: TrafficOnly, Notice: notice}, nil
}

func (w *Watcher) ask(ctx context.Context, client *http.Client, polls pollState, key string, t Target) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	req, err := t.Request(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("%s usage endpoint: %w", t.Provider, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("%s usage endpoint: %w", t.Provider, scrub(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return Result{}, fmt.Errorf("%s usage endpoint: reading the answer: %w", t.Provider, scrub(err))
	}
	now := w.clock.Now()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		wait := max(retryAfter(resp.Header.Get("Retry-After"), now), PollEvery)
		if _, err := polls.update(context.WithoutCancel(ctx), key, func(r *pollRecord) { r.NotBefore = now.Add(wait) }); err != nil {
			return Result{Outcome: Deferred}, err
		}
		return Result{Outcome: Deferred}, nil
	case (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized) && refusesScope(body):
		reason := "the endpoint refused this login's scopes"
		if t.Scope != "" {
			reason = fmt.Sprintf("the login lacks the %s scope", t.Scope)
		}
		rec, err := polls.update(context.WithoutCancel(ctx), key, func(r *pollRecord) { r.TrafficOnly, r.Reason = true, reason })
		if err != nil {
			return Result{Outcome: TrafficOnly}, err
		}
		return w.trafficOnly(ctx, polls, key, t, rec)
	default:
		return Result{}, fmt.Errorf("%s usage endpoint answered %s", t.Provider, resp.Status)
	}
	s, err := quota.ParseUsage(body, now)
	if err != nil {
		return Result{}, fmt.Errorf("%s usage endpoint: %w", t.Provider, err)
	}
	s.Provider, s.Account = t.Provider, t.Account
	if _, err := w.Observe(ctx, s); err != nil {
		return Result{Outcome: Observed}, err
	}
	return Result{Outcome: Observed}, nil
}

// refusesScope recognises an answer that says the token may not use the
// endpoint at all (Anthropic: permission_error naming the scope), as
// opposed to an expired token, which a refresh fixes.
func refusesScope(body []byte) bool {
	b := strings.ToLower(string(body))
	return strings.Contains(b, "scope") || strings.Contains(b, "permission_error") || strings.Contains(b, "forbidden")
}

// retryAfter reads a Retry-After of seconds or an HTTP date; anything else
// (including Anthropic's frequent 0) is no wait.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// scrub drops the URL (whose query could carry secrets) from a transport
// error.
func scrub(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
