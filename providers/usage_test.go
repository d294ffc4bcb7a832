package providers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

func TestUsageEndpoints(t *testing.T) {
	off := false
	cfg := map[string]Spec{}
	cfg["codex"] = Spec{UsageURL: "http://127.0.0.1:9/wham/usage"}
	cfg["copilot"] = Spec{QuotaPoll: &off}
	cfg["corp"] = Spec{Type: "oidc", Issuer: "http://127.0.0.1:9", ClientID: "c", UsageURL: "http://127.0.0.1:9/usage"}
	cfg["plain"] = Spec{Type: "oidc", Issuer: "http://127.0.0.1:9", ClientID: "c"}
	reg, err := NewRegistry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		url   string
		polls bool
	}{
		"claude":  {claudeUsageURL, true},
		"codex":   {"http://127.0.0.1:9/wham/usage", true},
		"copilot": {copilotUsageURL, false},
		"corp":    {"http://127.0.0.1:9/usage", true},
		"plain":   {"", false},
	}
	for name, want := range tests {
		p, _ := reg.Get(name)
		if p.Usage.URL != want.url || p.Usage.Polls() != want.polls {
			t.Errorf("%s usage = %q polls %v, want %q %v", name, p.Usage.URL, p.Usage.Polls(), want.url, want.polls)
		}
	}
	cfg["corp"] = Spec{Type: "oidc", Issuer: "http://127.0.0.1:9", ClientID: "c", UsageURL: "ftp://nope"}
	if _, err := NewRegistry(cfg); err == nil || !strings.Contains(err.Error(), "usage_url") {
		t.Errorf("a bad usage_url: %v", err)
	}
}

func TestUsageRequestCarriesTheProvidersCredentials(t *testing.T) {
	reg, err := NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := auth.Credentials{AccessToken: "access-0123456789", RefreshToken: "ghu_github0123456789", AccountID: "acct-1", Scopes: []string{"user:inference"}}
	tests := []struct {
		provider string
		headers  map[string]string
	}{
		{"claude", map[string]string{"Authorization": "Bearer access-0123456789"}},
		{"codex", map[string]string{"Authorization": "Bearer access-0123456789", "ChatGPT-Account-Id": "acct-1"}},
		{"copilot", map[string]string{"Authorization": "token ghu_github0123456789", "X-GitHub-Api-Version": "2025-04-01"}},
	}
	for _, tc := range tests {
		p, _ := reg.Get(tc.provider)
		req, err := p.UsageRequest(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if req.Method != "GET" || req.URL.String() != p.Usage.URL {
			t.Errorf("%s: %s %s", tc.provider, req.Method, req.URL)
		}
		for k, v := range tc.headers {
			if got := req.Header.Get(k); got != v {
				t.Errorf("%s %s = %q, want %q", tc.provider, k, got, v)
			}
		}
	}
	claude, _ := reg.Get("claude")
	if !strings.Contains(claudeReq(t, claude, c).Header.Get("Anthropic-Beta"), "oauth-2025-04-20") {
		t.Error("claude's usage request lacks the oauth beta")
	}
	if !claude.Usage.MissingScope(c) {
		t.Error("a token without user:profile is not reported as missing it")
	}
	if claude.Usage.MissingScope(auth.Credentials{Scopes: []string{"user:inference", "user:profile"}}) || claude.Usage.MissingScope(auth.Credentials{}) {
		t.Error("MissingScope with the scope, or with no scope list")
	}
}

func claudeReq(t *testing.T, p *Provider, c auth.Credentials) *http.Request {
	t.Helper()
	req, err := p.UsageRequest(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
