package providers

import (
	"slices"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Builtins describes each built-in as the registry builds it, in the
// registry's order, so stand-ins derived from it stay true.
func TestBuiltinsDescribeTheRegistry(t *testing.T) {
	r := registry(t, clockwork.NewFakeClockAt(testNow), nil)
	bs := Builtins()
	if len(bs) != len(r.All()) {
		t.Fatalf("%d descriptions for %d providers", len(bs), len(r.All()))
	}
	for i, p := range r.All() {
		b := bs[i]
		if b.Name != p.Name || b.DisplayName != p.DisplayName || !slices.Equal(b.Flows, p.Flows) || b.APIFormat != p.APIFormat() {
			t.Errorf("%d: %+v does not describe %s", i, b, p.Name)
		}
		if b.QuotaFamily == "" || !strings.HasPrefix(b.ChatPath, "/") {
			t.Errorf("%s: quota family %q, chat path %q", b.Name, b.QuotaFamily, b.ChatPath)
		}
	}
	want := map[string]string{Claude: QuotaAnthropic, Codex: QuotaCodex, Copilot: QuotaCopilot}
	for _, b := range bs {
		if b.QuotaFamily != want[b.Name] {
			t.Errorf("%s speaks %q quota, want %q", b.Name, b.QuotaFamily, want[b.Name])
		}
	}
	// A caller changing its copy changes no descriptor.
	bs[0].Flows[0] = auth.FlowDevice
	if Builtins()[0].Flows[0] == auth.FlowDevice {
		t.Error("Builtins shares its flows")
	}
}

// The API format and the error shape are two settings: each built-in
// names both, a generic provider's error shape follows its api_format.
func TestAPIFormatAndErrorShape(t *testing.T) {
	r := registry(t, clockwork.NewFakeClockAt(testNow), map[string]Spec{
		"gw":   {Type: "oidc", ClientID: "c", Issuer: "https://sso.example.com", APIFormat: "anthropic"},
		"corp": {Type: "oidc", ClientID: "c", Issuer: "https://sso.example.com"},
	})
	for _, tc := range []struct{ name, api, errs, baseVar string }{
		{Claude, APIAnthropic, ErrorFormatAnthropic, "ANTHROPIC_BASE_URL"},
		{Codex, APIOpenAI, ErrorFormatOpenAI, "OPENAI_BASE_URL"},
		{Copilot, APIOpenAI, ErrorFormatOpenAI, "OPENAI_BASE_URL"},
		{"gw", APIAnthropic, ErrorFormatAnthropic, "ANTHROPIC_BASE_URL"},
		{"corp", APIOpenAI, ErrorFormatOpenAI, "OPENAI_BASE_URL"},
	} {
		p := get(t, r, tc.name)
		if p.APIFormat() != tc.api || p.ErrorFormat() != tc.errs || p.Env().BaseURL != tc.baseVar {
			t.Errorf("%s: api %q errors %q env %q, want %q %q %q", tc.name, p.APIFormat(), p.ErrorFormat(), p.Env().BaseURL, tc.api, tc.errs, tc.baseVar)
		}
	}
	// Only Codex's clients need more than the variables.
	if n := get(t, r, Codex).Env().Notes("http://127.0.0.1:8787/codex"); len(n) == 0 || !strings.Contains(strings.Join(n, "\n"), `chatgpt_base_url = "http://127.0.0.1:8787/codex/backend-api"`) {
		t.Errorf("codex notes = %q", n)
	}
	for _, name := range []string{Claude, Copilot, "corp"} {
		if n := get(t, r, name).Env().Notes("u"); n != nil {
			t.Errorf("%s has notes %q", name, n)
		}
	}
}

// Every endpoint of a built-in moves with its key, Copilot's second token
// and the usage endpoint included.
func TestEveryBuiltinEndpointIsOverridable(t *testing.T) {
	const h = "https://ghe.example.com"
	specs := map[string]Spec{}
	for _, b := range builtins {
		specs[b.name] = Spec{AuthorizeURL: h + "/a", TokenURL: h + "/t", DeviceURL: h + "/d", RedirectURL: "http://127.0.0.1:7/cb",
			RevocationURL: h + "/r", APIBase: h + "/api", UsageURL: h + "/u"}
	}
	cp := specs[Copilot]
	cp.CopilotTokenURL = h + "/api/v3/copilot_internal/v2/token"
	specs[Copilot] = cp
	r := registry(t, clockwork.NewFakeClockAt(testNow), specs)
	for _, p := range r.All() {
		o := p.OAuth
		if o.AuthURL != h+"/a" || o.TokenURL != h+"/t" || o.DeviceURL != h+"/d" || o.RedirectURL != "http://127.0.0.1:7/cb" ||
			o.RevocationURL != h+"/r" || p.APIBase != h+"/api" || p.Usage.URL != h+"/u" {
			t.Errorf("%s keeps a built-in endpoint: %+v api=%s usage=%s", p.Name, o, p.APIBase, p.Usage.URL)
		}
	}
}
