package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"golang.org/x/oauth2"
)

func TestRefreshRotation(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook bool
	}{{"x/oauth2 form", false}, {"JSON hook via PostToken", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.hook {
				f.cfg.Hooks.Refresh = jsonRefreshHook
			}
			old := f.srv.IssueRefreshToken(testClient, "openid email")
			cur := Credentials{Version: 1, Provider: "demo", AccessToken: "old-access-token-xxxxxxxx",
				RefreshToken: old, AccountID: "acct-7", Email: "ada@example.com", Scopes: []string{"openid", "email"},
				ObtainedAt: t0.Add(-2 * time.Hour)}
			f.clock.Advance(time.Minute)
			next, err := f.cfg.Refresh(context.Background(), cur)
			if err != nil {
				t.Fatal(err)
			}
			if next.RefreshToken == old || next.RefreshToken != f.srv.LastRefreshToken() {
				t.Errorf("refresh token not rotated: %s", next)
			}
			if next.AccessToken == cur.AccessToken || next.AccountID != "acct-7" || next.Email != "ada@example.com" {
				t.Errorf("identity lost or access token unchanged: %s", next)
			}
			now := t0.Add(time.Minute)
			if !next.LastRefresh.Equal(now) || !next.ObtainedAt.Equal(now) || !next.ExpiresAt.Equal(now.Add(time.Hour)) {
				t.Errorf("times: last %v obtained %v expires %v", next.LastRefresh, next.ObtainedAt, next.ExpiresAt)
			}
			if next.IDToken == "" {
				t.Error("id_token from the refresh response not kept")
			}
			// The old token was single-use.
			_, err = f.cfg.Refresh(context.Background(), cur)
			ae := wantKind(t, err, ErrLoginRequired)
			if ae.Code != "invalid_grant" {
				t.Errorf("reuse code %q, want invalid_grant", ae.Code)
			}
			assertClean(t, err, old, cur.AccessToken)
		})
	}
}

func TestRefreshWithoutRotationKeepsToken(t *testing.T) {
	f := newFixture(t, fake.WithoutRotation(), fake.WithExpiresInString(), fake.WithResponseScope("-"))
	rt := f.srv.IssueRefreshToken(testClient, "") // no openid: no new id_token
	cur := Credentials{Provider: "demo", AccessToken: "a", RefreshToken: rt, IDToken: "kept-id-token"}
	next, err := f.cfg.Refresh(context.Background(), cur)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken != rt {
		t.Errorf("refresh token %q replaced though the response had none", next.RefreshToken)
	}
	if !next.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("expires_in as a string not honoured: %v", next.ExpiresAt)
	}
	if strings.Join(next.Scopes, " ") != "openid email" {
		t.Errorf("scopes %v, want the requested ones when the response has none", next.Scopes)
	}
	if next.IDToken != "kept-id-token" {
		t.Errorf("id token %q, want the old one kept", next.IDToken)
	}
}

func TestRefreshWithoutExpiry(t *testing.T) {
	f := newFixture(t, fake.WithAccessTTL(0))
	rt := f.srv.IssueRefreshToken(testClient, "")
	next, err := f.cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: rt})
	if err != nil {
		t.Fatal(err)
	}
	if !next.ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt = %v, want zero when the provider sends no expires_in", next.ExpiresAt)
	}
}

func TestRefreshErrors(t *testing.T) {
	codex := func(code string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"message":"Your refresh token has already been used","type":"invalid_request_error","code":"` + code + `"}}`))
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		kind    error
		code    string
	}{
		{"codex refresh_token_reused", codex("refresh_token_reused"), ErrLoginRequired, "refresh_token_reused"},
		{"codex refresh_token_expired", codex("refresh_token_expired"), ErrLoginRequired, "refresh_token_expired"},
		{"codex refresh_token_invalidated", codex("refresh_token_invalidated"), ErrLoginRequired, "refresh_token_invalidated"},
		{"invalid_client", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client"}`))
		}, ErrMisconfigured, "invalid_client"},
		{"echoes the token", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"token ` + r.PostForm.Get("refresh_token") + ` is revoked"}`))
		}, ErrLoginRequired, "invalid_grant"},
		{"404 page", func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }, ErrMisconfigured, ""},
		{"502 empty", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, ErrTransient, ""},
		{"200 without access_token", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"token_type":"Bearer"}`))
		}, ErrMisconfigured, ""},
	}
	const secret = "rt-very-secret-refresh-token-value"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			cfg := &Config{Provider: "demo", ClientID: "c", TokenURL: srv.URL, Clock: newFixture(t).clock,
				HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
			for _, hook := range []bool{false, true} {
				if hook {
					cfg.Hooks.Refresh = jsonRefreshHook
				}
				_, err := cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: secret, AccessToken: "acc-secret-value-123"})
				ae := wantKind(t, err, tc.kind)
				if ae.Code != tc.code {
					t.Errorf("hook=%v: code %q, want %q", hook, ae.Code, tc.code)
				}
				assertClean(t, err, secret, "acc-secret-value-123")
			}
		})
	}
}

func TestRefreshPreconditions(t *testing.T) {
	f := newFixture(t)
	_, err := f.cfg.Refresh(context.Background(), Credentials{Provider: "demo", AccessToken: "x"})
	wantKind(t, err, ErrLoginRequired)

	f.cfg.TokenURL = "ftp://nowhere"
	_, err = f.cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: "r"})
	wantKind(t, err, ErrMisconfigured)

	f.cfg.TokenURL = "http://127.0.0.1:1/token" // nothing listens on port 1
	_, err = f.cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: "r-secret-123"})
	wantKind(t, err, ErrTransient)
	assertClean(t, err, "r-secret-123")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.cfg.TokenURL = f.srv.TokenURL()
	_, err = f.cfg.Refresh(ctx, Credentials{Provider: "demo", RefreshToken: "r"})
	wantKind(t, err, ErrCancelled)
}

func TestRefreshSlowEndpointTimesOut(t *testing.T) {
	f := newFixture(t)
	f.cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 50 * time.Millisecond}
	f.srv.InjectTokenFault(fake.FaultSlow(5*time.Second), 1)
	rt := f.srv.IssueRefreshToken(testClient, "")
	_, err := f.cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: rt})
	wantKind(t, err, ErrTransient)
}

// TestRefreshConcurrentSingleUse: two refreshers racing on one rotating
// token see exact semantics: one wins, the other must log in again.
func TestRefreshConcurrentSingleUse(t *testing.T) {
	f := newFixture(t)
	rt := f.srv.IssueRefreshToken(testClient, "")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: rt})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			wantKind(t, err, ErrLoginRequired)
		}
	}
	if wins != 1 {
		t.Errorf("%d refreshes succeeded with one single-use token, want 1", wins)
	}
}

func TestCompleteHookError(t *testing.T) {
	f := newFixture(t)
	f.cfg.Hooks.Complete = func(context.Context, *Config, *oauth2.Token, *Credentials) error {
		return &Error{Provider: "demo", Op: "profile", Kind: ErrTransient}
	}
	rt := f.srv.IssueRefreshToken(testClient, "")
	_, err := f.cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: rt})
	wantKind(t, err, ErrTransient)
}
