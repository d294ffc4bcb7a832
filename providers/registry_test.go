package providers

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

func TestRegistryBuiltins(t *testing.T) {
	r := registry(t, clockwork.NewFakeClockAt(testNow), nil)
	var names []string
	for _, p := range r.All() {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"claude", "codex", "copilot"}) {
		t.Fatalf("All = %v", names)
	}
	for _, tc := range []struct {
		name     string
		flows    []auth.Flow
		format   string
		apiBase  string
		clientID string
		tokenURL string
	}{
		{"claude", []auth.Flow{auth.FlowBrowser, auth.FlowPaste}, "anthropic", "https://api.anthropic.com",
			"9d1c250a-e61b-44d9-88ed-5944d1962f5e", "https://platform.claude.com/v1/oauth/token"},
		{"codex", []auth.Flow{auth.FlowBrowser, auth.FlowDevice}, "openai", "https://chatgpt.com/backend-api/codex",
			"app_EMoamEEZ73f0CkXaXp7hrann", "https://auth.openai.com/oauth/token"},
		{"copilot", []auth.Flow{auth.FlowDevice}, "openai", "https://api.githubcopilot.com",
			"Iv1.b507a08c87ecfe98", "https://github.com/login/oauth/access_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := get(t, r, tc.name)
			if !slices.Equal(p.Flows, tc.flows) || p.ErrorFormat() != tc.format || p.APIBase != tc.apiBase ||
				p.OAuth.ClientID != tc.clientID || p.OAuth.TokenURL != tc.tokenURL || p.OAuth.Provider != tc.name {
				t.Errorf("got flows=%v format=%s base=%s client=%s token=%s", p.Flows, p.ErrorFormat(), p.APIBase, p.OAuth.ClientID, p.OAuth.TokenURL)
			}
			for _, f := range tc.flows {
				if !p.Supports(f) {
					t.Errorf("Supports(%s) = false", f)
				}
			}
		})
	}
	if get(t, r, Claude).Supports(auth.FlowDevice) {
		t.Error("claude must not offer a device flow")
	}
}

func TestRegistryOverrides(t *testing.T) {
	off := false
	r := registry(t, clockwork.NewFakeClockAt(testNow), map[string]Spec{
		Claude: {ClientID: "my-client", AuthorizeURL: "http://127.0.0.1:1/authorize", TokenURL: "http://127.0.0.1:1/token",
			RedirectURL: "http://localhost:9999/callback", Scopes: []string{"user:inference"},
			APIBase: "http://127.0.0.1:2", Headers: map[string]string{"X-Team": "a"}},
		Codex:   {Issuer: "http://127.0.0.1:3", Flow: "device"},
		Copilot: {Enabled: &off},
	})
	c := get(t, r, Claude)
	if c.OAuth.ClientID != "my-client" || c.OAuth.AuthURL != "http://127.0.0.1:1/authorize" ||
		c.OAuth.TokenURL != "http://127.0.0.1:1/token" || c.OAuth.RedirectURL != "http://localhost:9999/callback" ||
		!slices.Equal(c.OAuth.Scopes, []string{"user:inference"}) || c.APIBase != "http://127.0.0.1:2" || c.Headers["X-Team"] != "a" {
		t.Errorf("claude overrides not applied: %+v", c.OAuth)
	}
	x := get(t, r, Codex)
	if x.OAuth.AuthURL != "http://127.0.0.1:3/oauth/authorize" || x.OAuth.TokenURL != "http://127.0.0.1:3/oauth/token" ||
		x.OAuth.DeviceURL != "http://127.0.0.1:3/api/accounts/deviceauth/usercode" || x.Flows[0] != auth.FlowDevice {
		t.Errorf("codex issuer override: auth=%s token=%s device=%s flows=%v", x.OAuth.AuthURL, x.OAuth.TokenURL, x.OAuth.DeviceURL, x.Flows)
	}
	if _, err := r.Get(Copilot); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("disabled copilot: %v", err)
	}
	if len(r.All()) != 2 {
		t.Errorf("All has %d providers, want 2", len(r.All()))
	}
}

func TestRegistryErrors(t *testing.T) {
	r := registry(t, clockwork.NewFakeClockAt(testNow), nil)
	_, err := r.Get("gemini")
	var unk *UnknownProviderError
	if !errors.As(err, &unk) || !strings.Contains(err.Error(), "claude, codex, copilot") {
		t.Errorf("Get(gemini) = %v, want an error listing the known names", err)
	}
	for _, tc := range []struct {
		name string
		cfg  map[string]Spec
		want string
	}{
		{"unknown table without type", map[string]Spec{"gemini": {ClientID: "x"}}, "known: claude, codex, copilot"},
		{"bad url", map[string]Spec{Claude: {TokenURL: "ftp://x"}}, "token_url"},
		{"unsupported flow", map[string]Spec{Claude: {Flow: "device"}}, `flow "device" is not offered`},
		{"builtin retyped", map[string]Spec{Codex: {Type: "oidc"}}, "cannot replace the built-in"},
		{"oidc without client", map[string]Spec{"corp": {Type: "oidc", Issuer: "https://sso.example.com"}}, "client_id"},
		{"oidc without endpoints", map[string]Spec{"corp": {Type: "oidc", ClientID: "c"}}, "issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRegistry(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
