package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
	"github.com/jonboulle/clockwork"
)

func TestStatusStates(t *testing.T) {
	transient := &Error{Provider: "demo", Op: "refresh", Kind: ErrTransient, Err: errors.New("503")}
	refused := &Error{Provider: "demo", Op: "refresh", Kind: ErrLoginRequired, Code: "invalid_grant"}
	const access, refresh = "status-access-token-0123456789", "status-refresh-token-0123456789"
	for _, tc := range []struct {
		name      string
		stored    bool
		expiresIn time.Duration
		noRefresh bool
		setup     func(m *Manager, now time.Time)
		want      State
		wantAuth  bool
		reason    string // part of the reason, when there must be one
	}{
		{name: "not logged in", want: StateNeedsLogin, reason: "not logged in; run: ccproxy-tui auth login demo"},
		{name: "fresh", stored: true, expiresIn: time.Hour, want: StateOK, wantAuth: true},
		{name: "under five minutes left", stored: true, expiresIn: 4 * time.Minute, want: StateExpiring, wantAuth: true},
		{name: "expired, refreshable", stored: true, expiresIn: -time.Minute, want: StateExpired, wantAuth: true, reason: "next request refreshes"},
		{name: "expired, no refresh token", stored: true, expiresIn: -time.Minute, noRefresh: true, want: StateNeedsLogin, reason: "auth login demo"},
		{name: "refreshing", stored: true, expiresIn: time.Minute, want: StateRefreshing, wantAuth: true,
			setup: func(m *Manager, _ time.Time) { m.setRefreshing(true) }},
		{name: "retrying", stored: true, expiresIn: time.Minute, want: StateRetrying, wantAuth: true, reason: "retrying at",
			setup: func(m *Manager, now time.Time) {
				m.recordFailure(transient, "")
				m.plan(now.Add(5*time.Second), now.Add(5*time.Second))
			}},
		{name: "refused while valid is needs_login, never retrying", stored: true, expiresIn: time.Minute, want: StateNeedsLogin, wantAuth: true, reason: "works until it expires",
			setup: func(m *Manager, now time.Time) {
				m.recordFailure(refused, refresh)
				m.plan(now.Add(5*time.Second), now.Add(5*time.Second)) // a stale plan must not win
			}},
		{name: "refused and expired", stored: true, expiresIn: -time.Minute, want: StateNeedsLogin, reason: "auth login demo",
			setup: func(m *Manager, _ time.Time) { m.recordFailure(refused, refresh) }},
		{name: "temporary failure, gave up, expired is not needs_login", stored: true, expiresIn: -time.Minute, want: StateExpired, wantAuth: true,
			setup: func(m *Manager, _ time.Time) { m.recordFailure(transient, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(lcT0)
			st := store.NewMemory()
			m := NewManager(ManagerOptions{Provider: "demo", Refresher: &stubRefresher{clock: clock, life: time.Hour}, Store: st, Clock: clock})
			if tc.stored {
				c := Credentials{AccessToken: access, RefreshToken: refresh, ExpiresAt: lcT0.Add(tc.expiresIn),
					ObtainedAt: lcT0.Add(tc.expiresIn - time.Hour), Email: "user@example.com", Scopes: []string{"openid"}}
				if tc.noRefresh {
					c.RefreshToken = ""
				}
				blob, _ := c.Marshal()
				if err := st.Save(context.Background(), "demo", blob); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(m, lcT0)
			}
			got := m.Status(context.Background())
			if got.State != tc.want || got.Authenticated != tc.wantAuth {
				t.Fatalf("state %s authenticated %v, want %s %v (reason %q)", got.State, got.Authenticated, tc.want, tc.wantAuth, got.Reason)
			}
			if tc.reason != "" && !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("reason %q lacks %q", got.Reason, tc.reason)
			}
			if got.State == StateRetrying && got.NextAttempt.IsZero() {
				t.Error("retrying without a next attempt time")
			}
			if got.State != StateRetrying && !got.NextAttempt.IsZero() {
				t.Errorf("%s shows a next attempt", got.State)
			}
			if got.ExpiresIn < 0 {
				t.Errorf("expires_in %d is negative", got.ExpiresIn)
			}
			if got.Storage != "memory:demo" {
				t.Errorf("storage %q", got.Storage)
			}
		})
	}
}

func TestStatusJSONIsTheDesignedShape(t *testing.T) {
	clock := clockwork.NewFakeClockAt(lcT0)
	st := store.NewMemory()
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: &stubRefresher{clock: clock, life: time.Hour}, Store: st, Clock: clock})
	c := Credentials{AccessToken: "json-access-token-0123456789", RefreshToken: "json-refresh-token-0123456789",
		ExpiresAt: lcT0.Add(90 * time.Second), ObtainedAt: lcT0.Add(-time.Hour), LastRefresh: lcT0.Add(-time.Hour),
		AccountID: "acct-1", Email: "user@example.com", Plan: "max", Scopes: []string{"openid", "offline_access"}}
	if err := m.Save(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	blob, err := json.Marshal(m.Status(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{c.AccessToken, c.RefreshToken} {
		if strings.Contains(string(blob), secret) {
			t.Fatalf("status JSON shows a whole token: %s", blob)
		}
	}
	var got map[string]any
	if err := json.Unmarshal(blob, &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"access_token_preview", "account", "account_id", "active", "authenticated", "email", "expires_at", "expires_in",
		"last_error", "last_refresh", "plan", "provider", "refresh_token_preview", "scopes", "storage"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if got["expires_in"] != float64(90) || got["expires_at"] != "2026-11-23T02:01:30Z" || got["access_token_preview"] != "json-acc...23456789" {
		t.Errorf("status JSON = %s", blob)
	}
}

func TestStatusOfCorruptCredentialsNeedsLogin(t *testing.T) {
	dir := t.TempDir()
	fs, err := store.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "demo.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(lcT0)
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: &stubRefresher{clock: clock, life: time.Hour}, Store: fs, Clock: clock})
	if _, err := m.Token(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("Token on a corrupt file: %v, want ErrLoginRequired", err)
	}
	st := m.Status(context.Background())
	if st.State != StateNeedsLogin || st.Authenticated || !strings.Contains(st.Reason, "kept aside") ||
		strings.Count(st.Reason, "auth login") != 1 {
		t.Errorf("status %s authenticated %v reason %q", st.State, st.Authenticated, st.Reason)
	}
}

// unreadableStore is a backend that cannot be reached at all, like a keyring
// on a machine without a secret service.
type unreadableStore struct{ store.Store }

func (unreadableStore) Load(context.Context, string) ([]byte, error) {
	return nil, fmt.Errorf(`no secret service: %w; set backend = "file" under [store] in config.toml`, store.ErrUnavailable)
}

func TestStatusOfUnreadableStoreIsUnavailable(t *testing.T) {
	clock := clockwork.NewFakeClockAt(lcT0)
	st := unreadableStore{store.NewMemory()}
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: &stubRefresher{clock: clock, life: time.Hour}, Store: st, Clock: clock})
	status := m.Status(context.Background())
	// Not "expired" (nothing says the token is) and not "needs login" (a
	// login would fail the same way): the storage is what needs fixing.
	if status.State != StateUnavailable || status.Authenticated {
		t.Errorf("state %s authenticated %v, want unavailable and not authenticated", status.State, status.Authenticated)
	}
	if n := strings.Count(status.Reason, `backend = "file"`); n != 1 || strings.Contains(status.Reason, "check the credentials store") {
		t.Errorf("reason should name one next step, the store's own: %q", status.Reason)
	}
	_, err := m.Token(context.Background())
	if !errors.Is(err, ErrMisconfigured) || errors.Is(err, ErrLoginRequired) {
		t.Errorf("Token: %v, want a misconfiguration, not a login request", err)
	}
}

// Scripts iterate `.scopes[]`; a provider with no credentials must give an
// empty array, not null.
func TestStatusJSONScopesIsNeverNull(t *testing.T) {
	p := newLCProvider(t)
	blob, err := json.Marshal(p.manager(nil).Status(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(blob), `"scopes":[]`) {
		t.Errorf("status JSON = %s, want \"scopes\":[]", blob)
	}
}

func TestStatusStateAt(t *testing.T) {
	exp := lcT0.Add(10 * time.Minute)
	for _, tc := range []struct {
		name  string
		state State
		now   time.Time
		want  State
	}{
		{"ok stays ok far from expiry", StateOK, lcT0, StateOK},
		{"ok becomes expiring", StateOK, exp.Add(-4 * time.Minute), StateExpiring},
		{"ok becomes expired", StateOK, exp, StateExpired},
		{"expiring becomes expired", StateExpiring, exp.Add(time.Second), StateExpired},
		{"retrying stays retrying", StateRetrying, exp.Add(time.Second), StateRetrying},
		{"needs login stays", StateNeedsLogin, exp.Add(time.Hour), StateNeedsLogin},
		{"refreshing stays", StateRefreshing, exp.Add(time.Second), StateRefreshing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Status{State: tc.state, ExpiresAt: &exp}
			if got := s.StateAt(tc.now); got != tc.want {
				t.Errorf("StateAt = %s, want %s", got, tc.want)
			}
		})
	}
	if got := (Status{State: StateOK}).StateAt(lcT0.Add(100 * time.Hour)); got != StateOK {
		t.Errorf("a token without expiry became %s", got)
	}
}
