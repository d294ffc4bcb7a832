package providers

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

func TestProviderNeverPrintsClientSecret(t *testing.T) {
	r := registry(t, clockwork.NewFakeClockAt(testNow), map[string]Spec{
		"corp": {Type: "oidc", Issuer: "https://sso.example.com", ClientID: "c", ClientSecret: "s3cr3t-value"},
	})
	p := get(t, r, "corp")
	for _, verb := range []string{"%v", "%+v", "%s"} {
		if out := fmt.Sprintf(verb, p); out != "provider corp" {
			t.Errorf("%s printed %q", verb, out)
		}
	}
}

func TestCopilotBaseFromToken(t *testing.T) {
	p := get(t, registry(t, clockwork.NewFakeClockAt(testNow), nil), Copilot)
	u, err := p.BaseURL(auth.Credentials{Extra: map[string]string{"copilot_api": "https://api.business.githubcopilot.com"}})
	if err != nil || u.Host != "api.business.githubcopilot.com" {
		t.Errorf("token's endpoints.api not used: %v %v", u, err)
	}
}

// BenchmarkDecorate measures the per-request header work the proxy does.
func BenchmarkDecorate(b *testing.B) {
	r, err := NewRegistry(nil)
	if err != nil {
		b.Fatal(err)
	}
	creds := auth.Credentials{AccessToken: "sk-ant-oat01-synthetic-access-token", AccountID: "acct-1"}
	for _, p := range r.All() {
		b.Run(p.Name, func(b *testing.B) {
			in := http.Header{
				"Authorization":  {"Bearer placeholder"},
				"Content-Type":   {"application/json"},
				"Anthropic-Beta": {"claude-code-20250219,interleaved-thinking-2025-05-14"},
				"User-Agent":     {"claude-cli/2.1.220 (external, cli)"},
			}
			b.ReportAllocs()
			for b.Loop() {
				h := in.Clone()
				p.Decorate(h, creds)
			}
		})
	}
}
