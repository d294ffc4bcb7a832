package providers

import (
	"maps"
	"slices"
	"strings"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// builtin is one built-in provider, declared in its own file (claude.go,
// codex.go, copilot.go): the registry, import, `env`, the config overrides
// and the demo read it instead of switching on a name. Adding a provider
// is adding such a file and its line in builtins.
type builtin struct {
	// name is the provider's name, as Provider.Name.
	name string
	// provider builds the provider with its own values. Spec keys that
	// reshape it as a whole (Codex's issuer moves every endpoint, Copilot's
	// copilot_token_url its second token) are its business; the common
	// overrides are applied afterwards, by applyOverrides.
	provider func(s Spec) *Provider
	// keys are the spec keys only this provider reads.
	keys []string
	// importer reads the official CLI's credential file; nil when there is
	// none to import.
	importer func(importEnv) (*ImportPlan, error)
	// quotaFamily names the quota headers and usage body its API answers
	// with (QuotaAnthropic, QuotaCodex, QuotaCopilot). The proxy reads
	// every family on every route; stand-ins use it to answer in kind.
	quotaFamily string
	// chatPath is its API's main call, which stand-ins send traffic to.
	chatPath string
}

// builtins is the one list of built-in providers, in the order screens
// list them.
var builtins = []builtin{claudeBuiltin, codexBuiltin, copilotBuiltin}

// Quota families a built-in's answers carry.
const (
	QuotaAnthropic = "anthropic" // anthropic-ratelimit-unified-* and GET /api/oauth/usage
	QuotaCodex     = "codex"     // x-codex-* and GET /backend-api/wham/usage
	QuotaCopilot   = "copilot"   // x-quota-snapshot-* and GET copilot_internal/user
)

// Builtin is what a stand-in for a built-in needs to imitate it (the demo
// makes one per built-in): its shape, never its endpoints or client.
type Builtin struct {
	Name        string
	DisplayName string
	// Flows are its login flows, the preferred one first.
	Flows     []auth.Flow
	APIFormat string
	// QuotaFamily is one of the Quota* constants.
	QuotaFamily string
	// ChatPath is its API's main call ("/v1/messages").
	ChatPath string
}

// Builtins describes every built-in provider, in the registry's order.
func Builtins() []Builtin {
	out := make([]Builtin, 0, len(builtins))
	for _, b := range builtins {
		p := b.provider(Spec{})
		out = append(out, Builtin{Name: p.Name, DisplayName: p.DisplayName, Flows: slices.Clone(p.Flows),
			APIFormat: p.APIFormat(), QuotaFamily: b.quotaFamily, ChatPath: b.chatPath})
	}
	return out
}

// builtinNames are the built-ins' names, in order.
func builtinNames() []string {
	out := make([]string, 0, len(builtins))
	for _, b := range builtins {
		out = append(out, b.name)
	}
	return out
}

// lookupBuiltin is the built-in called name, or nil.
func lookupBuiltin(name string) *builtin {
	for i := range builtins {
		if builtins[i].name == name {
			return &builtins[i]
		}
	}
	return nil
}

// reads reports whether the provider reads the spec key; a nil builtin (a
// generic provider) reads none of the special keys.
func (b *builtin) reads(key string) bool { return b != nil && slices.Contains(b.keys, key) }

// build turns the spec of provider name into a provider, applying every
// rule of Check; enabled is false for a table switched off.
func build(name string, s Spec, o options) (p *Provider, enabled bool, err error) {
	if err := s.checkSettings(name); err != nil {
		return nil, false, err
	}
	if b := lookupBuiltin(name); b != nil {
		if s.Type != "" {
			return nil, false, specErrf(name, "type", "type %q cannot replace the built-in %s provider; use another name", s.Type, name)
		}
		if s.disabled() {
			return nil, false, nil
		}
		p = b.provider(s)
		if err := applyOverrides(p, s); err != nil {
			return nil, false, err
		}
	} else {
		if s.Type != "oidc" {
			return nil, false, specErr(name, "", unknownError(name, builtinNames(),
				`to add a generic provider set type = "oidc"`))
		}
		if s.disabled() {
			return nil, false, nil
		}
		if p, err = newOIDC(name, s); err != nil {
			return nil, false, err
		}
	}
	p.OAuth.HTTPClient = o.client
	p.OAuth.Clock = o.clock
	return p, true, nil
}

// applyOverrides copies every non-empty field of the spec over the
// built-in value: every endpoint of a built-in can be moved from the
// config.
func applyOverrides(p *Provider, s Spec) error {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.DisplayName, s.DisplayName)
	set(&p.OAuth.ClientID, s.ClientID)
	set(&p.OAuth.ClientSecret, s.ClientSecret)
	set(&p.OAuth.AuthURL, s.AuthorizeURL)
	set(&p.OAuth.TokenURL, s.TokenURL)
	set(&p.OAuth.DeviceURL, s.DeviceURL)
	set(&p.OAuth.RedirectURL, s.RedirectURL)
	set(&p.OAuth.RevocationURL, s.RevocationURL)
	set(&p.Usage.URL, s.UsageURL)
	if s.QuotaPoll != nil {
		p.Usage.Poll = *s.QuotaPoll
	}
	if s.Scopes != nil {
		p.OAuth.Scopes = slices.Clone(s.Scopes)
	}
	if s.APIBase != "" {
		p.APIBase = s.APIBase
		p.apiBaseFromConfig = true
	}
	if len(s.Headers) > 0 {
		p.Headers = maps.Clone(s.Headers)
	}
	if s.Flow != "" {
		f := auth.Flow(s.Flow)
		if !p.Supports(f) {
			return specErrf(p.Name, "flow", "flow %q is not offered by %s (offered: %s)", s.Flow, p.Name, flowList(p.Flows))
		}
		p.Flows = append([]auth.Flow{f}, slices.DeleteFunc(slices.Clone(p.Flows), func(x auth.Flow) bool { return x == f })...)
	}
	return nil
}

func flowList(fs []auth.Flow) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}
