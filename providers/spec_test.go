package providers

import (
	"errors"
	"strings"
	"testing"
)

// Check and NewRegistry apply the same rules and name the key at fault, so
// the config can point at its line.
func TestSpecCheckNamesTheKey(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name, provider string
		spec           Spec
		key, want      string
	}{
		{"bad name", "Corp", Spec{Type: "oidc"}, "", "lower-case letters"},
		{"bad type", "x", Spec{Type: "saml"}, "type", "unknown provider type"},
		{"bad flow", "x", Spec{Type: "oidc", Flow: "telepathy"}, "flow", "unknown flow"},
		{"bad api format", "x", Spec{Type: "oidc", APIFormat: "soap"}, "api_format", "unknown API format"},
		{"not a URL", Claude, Spec{TokenURL: "ftp://x"}, "token_url", "not an absolute http(s) URL"},
		{"no host", Codex, Spec{Issuer: "https://"}, "issuer", "not an absolute http(s) URL"},
		{"cleartext", Claude, Spec{TokenURL: "http://sso.example.com/t"}, "token_url", "in clear"},
		{"cleartext copilot token", Copilot, Spec{CopilotTokenURL: "http://ghe.example.com/t"}, "copilot_token_url", "in clear"},
		{"a key nobody else reads", Claude, Spec{CopilotTokenURL: "https://ghe.example.com/t"}, "copilot_token_url", "only the copilot provider"},
		{"a disabled table still has valid URLs", Codex, Spec{Enabled: &off, Issuer: "http://sso.example.com"}, "issuer", "in clear"},
		{"flow not offered", Claude, Spec{Flow: "device"}, "flow", `flow "device" is not offered by claude (offered: browser, paste)`},
		{"built-in retyped", Codex, Spec{Type: "oidc"}, "type", "cannot replace the built-in"},
		{"oidc without a client", "corp", Spec{Type: "oidc", Issuer: "https://sso.example.com"}, "", "client_id is required"},
		{"oidc flow without its endpoint", "corp", Spec{Type: "oidc", ClientID: "c", AuthorizeURL: "https://a", TokenURL: "https://t", Flow: "device"}, "flow", "device_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, err := range []error{tc.spec.Check(tc.provider), registryErr(tc.provider, tc.spec)} {
				var se *SpecError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v (%T), want a *SpecError", err, err)
				}
				if se.Provider != tc.provider || se.Key != tc.key || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %q (key %q), want key %q and %q", err, se.Key, tc.key, tc.want)
				}
			}
		})
	}
}

func registryErr(name string, s Spec) error {
	_, err := NewRegistry(map[string]Spec{name: s})
	return err
}

func TestSpecCheckAccepts(t *testing.T) {
	off := false
	for name, s := range map[string]Spec{
		Claude:  {TokenURL: "http://127.0.0.1:9/token", Flow: "paste"},
		Codex:   {Issuer: "http://sso.example.com", AllowInsecureHTTP: true},
		Copilot: {CopilotTokenURL: "https://api.ghe.example.com/copilot_internal/v2/token"},
		"corp":  {Type: "oidc", ClientID: "c", Issuer: "https://sso.example.com", RedirectURL: "http://my.example.com/cb"},
		// A disabled generic table need not be complete.
		"later": {Type: "oidc", Enabled: &off},
	} {
		if err := s.Check(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// An unknown table's error still lets callers find the unknown name.
func TestSpecUnknownProviderUnwraps(t *testing.T) {
	err := Spec{ClientID: "x"}.Check("gemini")
	var unk *UnknownProviderError
	if !errors.As(err, &unk) || unk.Name != "gemini" || !strings.Contains(err.Error(), `set type = "oidc"`) {
		t.Errorf("err = %v, want an *UnknownProviderError with the hint", err)
	}
}
