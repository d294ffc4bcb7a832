package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/providers"
)

// The providers package's rules for a table are reported at the table's
// key, with the file and line, and keep their cause for callers.
func TestProviderRulesNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, doc, key, want string
		line                 int
	}{
		{"flow not offered", "[providers.claude]\nclient_id = \"x\"\nflow = \"device\"\n", "providers.claude.flow", `flow "device" is not offered by claude`, 3},
		{"not a URL", "[providers.codex]\n\nissuer = \"https://\"\n", "providers.codex.issuer", "not an absolute http(s) URL", 3},
		{"oidc without a client", "# corp\n[providers.corp]\ntype = \"oidc\"\nissuer = \"https://sso.example.com\"\n", "providers.corp", "client_id is required", 2},
		{"unknown table", "[providers.gemini]\nclient_id = \"x\"\n", "providers.gemini", `unknown provider "gemini"`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Parse("/etc/c.toml", []byte(tc.doc), new(Default()))
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != tc.key || ce.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want %s at line %d saying %q", err, tc.key, tc.line, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "/etc/c.toml:") {
				t.Errorf("%q does not name the file", err)
			}
		})
	}
	err := Parse("c.toml", []byte("[providers.gemini]\nclient_id = \"x\"\n"), new(Default()))
	var unk *providers.UnknownProviderError
	if !errors.As(err, &unk) {
		t.Errorf("Parse = %v, want it to unwrap to the unknown provider", err)
	}
}

// Failover is the app's setting; every other key reaches the spec.
func TestProviderSpecCarriesEveryKey(t *testing.T) {
	on := true
	p := Provider{Type: "oidc", Enabled: &on, DisplayName: "d", Issuer: "i", ClientID: "c", ClientSecret: "s",
		AuthorizeURL: "a", TokenURL: "t", DeviceURL: "dv", CopilotTokenURL: "ct", RedirectURL: "r", Scopes: []string{"x"},
		Flow: "device", APIBase: "b", APIFormat: "anthropic", UsageURL: "u", QuotaPoll: &on,
		Headers: map[string]string{"k": "v"}, RevocationURL: "rv", AllowInsecureHTTP: true, Failover: true}
	s := p.Spec()
	if s.Type != "oidc" || s.Enabled != &on || s.DisplayName != "d" || s.Issuer != "i" || s.ClientID != "c" || s.ClientSecret != "s" ||
		s.AuthorizeURL != "a" || s.TokenURL != "t" || s.DeviceURL != "dv" || s.CopilotTokenURL != "ct" || s.RedirectURL != "r" ||
		len(s.Scopes) != 1 || s.Flow != "device" || s.APIBase != "b" || s.APIFormat != "anthropic" || s.UsageURL != "u" ||
		s.QuotaPoll != &on || s.Headers["k"] != "v" || s.RevocationURL != "rv" || !s.AllowInsecureHTTP {
		t.Errorf("spec %+v lost a key of %+v", s, p)
	}
	cfg := Default()
	cfg.Providers["corp"] = p
	if got := cfg.ProviderSpecs()["corp"]; got.ClientID != "c" {
		t.Errorf("ProviderSpecs = %+v", got)
	}
}
