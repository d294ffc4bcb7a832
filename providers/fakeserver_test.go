package providers

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

// TestBuiltinsAgainstFakeServer runs Claude's and Codex's real hooks against
// the shared fake OAuth server, which checks PKCE and single-use rotating
// refresh tokens, so the verifier and bodies they send are proven to work
// end to end and not only to look right.
func TestBuiltinsAgainstFakeServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := clockwork.NewFakeClockAt(testNow)

	t.Run("claude paste login and rotating refresh", func(t *testing.T) {
		srv := fake.NewOAuthServer(fake.WithClock(clock), fake.WithClientID(claudeClientID),
			fake.WithTokenExtras(map[string]any{
				"account":      map[string]any{"uuid": "acct-fake", "email_address": "fake@example.com"},
				"organization": map[string]any{"uuid": "org-fake", "name": "Fake Org"},
			}))
		defer srv.Close()
		p := get(t, registry(t, clock, map[string]Spec{
			Claude: {AuthorizeURL: srv.AuthURL(), TokenURL: srv.TokenURL()},
		}), Claude)
		paste, err := p.OAuth.StartPaste(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The fake approves at once and redirects to the hosted page; take
		// code and state from that redirect as the page would show them.
		code, state := followAuthorize(t, paste.URL())
		creds, err := paste.Complete(ctx, code+"#"+state)
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		if creds.AccountID != "acct-fake" || creds.Email != "fake@example.com" {
			t.Errorf("identity = %q/%q", creds.AccountID, creds.Email)
		}
		next, err := p.Refresh(ctx, creds)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if next.RefreshToken == creds.RefreshToken {
			t.Error("refresh token not rotated")
		}
		if _, err := p.Refresh(ctx, creds); !errorsIs(err, auth.ErrLoginRequired) {
			t.Errorf("reusing the old refresh token: %v, want login required", err)
		}
	})

	t.Run("codex browser login", func(t *testing.T) {
		srv := fake.NewOAuthServer(fake.WithClock(clock), fake.WithClientID(codexClientID),
			fake.WithIdentity("auth0|fake", "codex@example.com"),
			fake.WithIDTokenClaims(map[string]any{codexAuthClaim: map[string]any{
				"chatgpt_account_id": "acct-fake-codex", "chatgpt_plan_type": "pro"}}))
		defer srv.Close()
		p := get(t, registry(t, clock, map[string]Spec{
			Codex: {AuthorizeURL: srv.AuthURL(), TokenURL: srv.TokenURL(), RedirectURL: "http://localhost:0/auth/callback"},
		}), Codex)
		login, err := p.OAuth.StartBrowser(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer login.Close()
		wait := waitLogin(ctx, login)
		resp, err := http.Get(login.URL())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		creds, err := wait()
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		if creds.AccountID != "acct-fake-codex" || creds.Plan != "pro" || creds.Email != "codex@example.com" {
			t.Errorf("identity = %q %q %q", creds.AccountID, creds.Plan, creds.Email)
		}
		h := http.Header{}
		p.Decorate(h, creds)
		if h.Get("ChatGPT-Account-Id") != "acct-fake-codex" {
			t.Errorf("decorated = %v", h)
		}
	})
}

// followAuthorize opens an authorize URL without following the redirect and
// returns the code and state it carries.
func followAuthorize(t *testing.T, authorize string) (code, state string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize answered %d without a code redirect", resp.StatusCode)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

// waitLogin runs l.Wait in the background, as a CLI does while the user is
// in the browser (the callback page waits for the outcome), and returns the
// func that collects the result.
func waitLogin(ctx context.Context, l *auth.BrowserLogin) func() (auth.Credentials, error) {
	type result struct {
		c   auth.Credentials
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Wait(ctx)
		ch <- result{c, err}
	}()
	return func() (auth.Credentials, error) {
		r := <-ch
		return r.c, r.err
	}
}
