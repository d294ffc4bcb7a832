package providers

import (
	"net/url"
	"testing"
)

func TestCodexReroutesItsUsageEndpoint(t *testing.T) {
	reg, err := NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	codex, _ := reg.Get(Codex)
	claude, _ := reg.Get(Claude)
	base, _ := url.Parse("https://chatgpt.com/backend-api/codex")
	tests := []struct {
		p    *Provider
		rest string
		want string
	}{
		{codex, "/responses", "https://chatgpt.com/backend-api/codex/responses"},
		{codex, "/backend-api/wham/usage", "https://chatgpt.com/backend-api/wham/usage"},
		{codex, "/wham/usage", "https://chatgpt.com/backend-api/wham/usage"},
		{codex, "/api/codex/usage", "https://chatgpt.com/backend-api/wham/usage"},
		{codex, "/backend-api", "https://chatgpt.com/backend-api/codex/backend-api"},
		{claude, "/wham/usage", "https://chatgpt.com/backend-api/codex/wham/usage"},
	}
	for _, tc := range tests {
		b, rest := tc.p.Reroute(base, tc.rest)
		if got := b.String() + rest; got != tc.want {
			t.Errorf("%s %s → %s, want %s", tc.p.Name, tc.rest, got, tc.want)
		}
	}
	if base.String() != "https://chatgpt.com/backend-api/codex" {
		t.Errorf("Reroute changed the base it was given: %s", base)
	}
	gw, _ := url.Parse("https://llm.example.com/v1")
	if b, rest := codex.Reroute(gw, "/wham/usage"); b != gw || rest != "/wham/usage" {
		t.Errorf("a base without /codex was rerouted to %s%s", b, rest)
	}
}
