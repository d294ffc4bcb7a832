package providers

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// authorizeParams starts a login with p's config and returns the authorize
// URL's query. Browser logins bind an ephemeral port instead of the fixed
// one so tests never collide with a running CLI.
func authorizeParams(t *testing.T, cfg auth.Config, flow auth.Flow) (url.Values, string) {
	t.Helper()
	ctx := context.Background()
	var raw string
	switch flow {
	case auth.FlowBrowser:
		u, _ := url.Parse(cfg.RedirectURL)
		u.Host = u.Hostname() + ":0"
		cfg.RedirectURL = u.String()
		l, err := cfg.StartBrowser(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		raw = l.URL()
	case auth.FlowPaste:
		l, err := cfg.StartPaste(ctx)
		if err != nil {
			t.Fatal(err)
		}
		raw = l.URL()
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query(), u.Scheme + "://" + u.Host + u.Path
}

func TestClaudeAuthorizeURL(t *testing.T) {
	r := registry(t, clockwork.NewFakeClockAt(testNow), nil)
	p := get(t, r, Claude)
	for _, tc := range []struct {
		name     string
		flow     auth.Flow
		redirect string // "" = the bound loopback
	}{
		{"browser", auth.FlowBrowser, ""},
		{"paste", auth.FlowPaste, "https://platform.claude.com/oauth/code/callback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, base := authorizeParams(t, p.OAuth, tc.flow)
			if base != "https://claude.ai/oauth/authorize" {
				t.Errorf("authorize endpoint = %s", base)
			}
			want := set("code", "client_id", "response_type", "redirect_uri", "scope",
				"code_challenge", "code_challenge_method", "state")
			if got := formKeys(q); !maps.Equal(got, want) {
				t.Errorf("params = %v, want exactly %v", got, want)
			}
			for k, v := range map[string]string{
				"code":                  "true",
				"client_id":             "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
				"response_type":         "code",
				"code_challenge_method": "S256",
				"scope":                 "user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload",
			} {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			redirect := q.Get("redirect_uri")
			if tc.redirect != "" && redirect != tc.redirect {
				t.Errorf("redirect_uri = %q, want %q", redirect, tc.redirect)
			}
			if tc.redirect == "" && (!strings.HasPrefix(redirect, "http://localhost:") || !strings.HasSuffix(redirect, "/callback")) {
				t.Errorf("redirect_uri = %q, want the localhost /callback loopback", redirect)
			}
		})
	}
}

func TestClaudeExchangeAndRefresh(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(testNow)
	ep := newEndpoint(t)
	ep.on("/v1/oauth/token", 200, fixture(t, "claude_token_response.json"))
	r := registry(t, clock, map[string]Spec{
		Claude: {TokenURL: ep.URL + "/v1/oauth/token"},
	})
	p := get(t, r, Claude)

	paste, err := p.OAuth.StartPaste(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(paste.URL())
	state := u.Query().Get("state")
	creds, err := paste.Complete(ctx, "synthetic-code-123#"+state)
	if err != nil {
		t.Fatalf("paste login: %v", err)
	}

	ex := ep.last(t, "/v1/oauth/token")
	t.Run("exchange is JSON carrying state", func(t *testing.T) {
		if ex.ContentType != "application/json" {
			t.Fatalf("content type = %q, want application/json", ex.ContentType)
		}
		want := set("grant_type", "code", "redirect_uri", "client_id", "code_verifier", "state")
		if got := keysOf(ex.JSON); !maps.Equal(got, want) {
			t.Errorf("fields = %v, want exactly %v", got, want)
		}
		for k, v := range map[string]string{
			"grant_type":   "authorization_code",
			"code":         "synthetic-code-123",
			"state":        state,
			"client_id":    claudeClientID,
			"redirect_uri": "https://platform.claude.com/oauth/code/callback",
		} {
			if ex.JSON[k] != v {
				t.Errorf("%s = %v, want %q", k, ex.JSON[k], v)
			}
		}
		if v, _ := ex.JSON["code_verifier"].(string); len(v) < 43 {
			t.Errorf("code_verifier too short: %d chars", len(v))
		}
	})
	t.Run("identity from the token response", func(t *testing.T) {
		if creds.AccountID != "acct-uuid-synthetic-0001" || creds.Email != "claude-user@example.com" {
			t.Errorf("account/email = %q/%q", creds.AccountID, creds.Email)
		}
		if creds.Extra["organization_id"] != "org-uuid-synthetic-0001" || creds.Extra["organization_name"] != "Synthetic Org" {
			t.Errorf("organization = %v", creds.Extra)
		}
		if !creds.ExpiresAt.Equal(testNow.Add(8 * time.Hour)) {
			t.Errorf("expires at %v, want now+8h", creds.ExpiresAt)
		}
	})

	ep.answer("/v1/oauth/token", 200, fixture(t, "claude_refresh_response.json"))
	clock.Advance(7 * time.Hour)
	next, err := p.OAuth.Refresh(ctx, creds)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	rf := ep.last(t, "/v1/oauth/token")
	t.Run("refresh is JSON", func(t *testing.T) {
		if rf.ContentType != "application/json" {
			t.Fatalf("content type = %q", rf.ContentType)
		}
		want := set("grant_type", "refresh_token", "client_id")
		if got := keysOf(rf.JSON); !maps.Equal(got, want) {
			t.Errorf("fields = %v, want exactly %v", got, want)
		}
		if rf.JSON["grant_type"] != "refresh_token" || rf.JSON["refresh_token"] != creds.RefreshToken {
			t.Errorf("refresh body grant/refresh token wrong")
		}
	})
	t.Run("rotation and identity survive a bare refresh response", func(t *testing.T) {
		if next.RefreshToken == creds.RefreshToken || !strings.Contains(next.RefreshToken, "0002") {
			t.Errorf("refresh token not rotated: %s", auth.MaskRefresh(next.RefreshToken))
		}
		if next.AccountID != creds.AccountID || next.Email != creds.Email {
			t.Errorf("identity lost on refresh: %q/%q", next.AccountID, next.Email)
		}
	})
}

func TestClaudeDecorate(t *testing.T) {
	r := registry(t, clockwork.NewFakeClockAt(testNow), nil)
	p := get(t, r, Claude)
	creds := auth.Credentials{AccessToken: "sk-ant-oat01-synthetic"}
	for _, tc := range []struct {
		name   string
		in     http.Header
		want   map[string]string
		absent []string
	}{
		{
			name: "client api key and cookies stripped, beta and version added",
			in: http.Header{"X-Api-Key": {"sk-ant-api-client"}, "Authorization": {"Bearer placeholder"},
				"Cookie": {"session=1"}, "Content-Type": {"application/json"}},
			want: map[string]string{"Authorization": "Bearer sk-ant-oat01-synthetic",
				"Anthropic-Beta": "oauth-2025-04-20", "Anthropic-Version": "2023-06-01",
				"Content-Type": "application/json"},
			absent: []string{"X-Api-Key", "Cookie"},
		},
		{
			name: "client betas kept in order, oauth appended once",
			in:   http.Header{"Anthropic-Beta": {"claude-code-20250219, interleaved-thinking-2025-05-14", "claude-code-20250219"}},
			want: map[string]string{"Anthropic-Beta": "claude-code-20250219,interleaved-thinking-2025-05-14,oauth-2025-04-20"},
		},
		{
			name: "oauth beta already present is not duplicated",
			in:   http.Header{"Anthropic-Beta": {"oauth-2025-04-20,context-1m-2025-08-07"}},
			want: map[string]string{"Anthropic-Beta": "oauth-2025-04-20,context-1m-2025-08-07"},
		},
		{
			name: "client's version and identity headers untouched",
			in: http.Header{"Anthropic-Version": {"2024-01-01"}, "User-Agent": {"claude-cli/2.1.220 (external, cli)"},
				"X-App": {"cli"}, "X-Stainless-Lang": {"js"}},
			want: map[string]string{"Anthropic-Version": "2024-01-01", "User-Agent": "claude-cli/2.1.220 (external, cli)",
				"X-App": "cli", "X-Stainless-Lang": "js"},
		},
		{
			name:   "no identity headers invented",
			in:     http.Header{},
			absent: []string{"User-Agent", "X-App", "X-Stainless-Lang", "Anthropic-Dangerous-Direct-Browser-Access"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.in.Clone()
			p.Decorate(h, creds)
			for k, v := range tc.want {
				if got := strings.Join(h.Values(k), "|"); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := h[http.CanonicalHeaderKey(k)]; ok {
					t.Errorf("%s should be absent, got %q", k, h.Get(k))
				}
			}
		})
	}
	if p.ErrorFormat() != "anthropic" {
		t.Errorf("error format = %q", p.ErrorFormat())
	}
	u, err := p.BaseURL(creds)
	if err != nil || u.String() != "https://api.anthropic.com" {
		t.Errorf("base = %v, %v", u, err)
	}
}
