package providers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// API formats: the wire API a provider's endpoint speaks, which decides
// what clients point at it (APIFormat, Env).
const (
	APIAnthropic = "anthropic" // the Messages API
	APIOpenAI    = "openai"    // the OpenAI APIs (Chat Completions, Responses)
)

// Error shapes a provider's API answers errors in, so the proxy's own
// errors (ErrorFormat) are ones its clients parse.
const (
	ErrorFormatAnthropic = "anthropic"
	ErrorFormatOpenAI    = "openai"
)

// Provider is one LLM subscription: its OAuth client, the flows it offers,
// where its API lives and what a proxied request needs to be accepted.
// Built-ins carry the values the providers' own clients use; every value
// can be overridden from [providers.<name>] in the config.
type Provider struct {
	// Name is the short name used in routes, files and commands ("claude").
	Name string
	// DisplayName is what screens show ("Claude (Pro/Max)").
	DisplayName string
	// Flows are the login flows offered, the preferred one first.
	Flows []auth.Flow
	// OAuth is the client auth runs the flows with. For a generic OIDC
	// provider configured by issuer, its endpoints are filled by discovery:
	// use Config to get it ready.
	OAuth auth.Config
	// APIBase is the API the proxy forwards to.
	APIBase string
	// Headers are set on every proxied request after the provider's own
	// defaults (from the config's headers table); they cannot replace the
	// token.
	Headers map[string]string
	// Usage is the provider's usage endpoint, asked for the quota when no
	// response has carried it lately.
	Usage Usage

	// apiFormat is the wire API (APIAnthropic, APIOpenAI); errorShape the
	// shape of its errors (ErrorFormatAnthropic, ErrorFormatOpenAI).
	apiFormat, errorShape string
	// env is what `env` prints for it.
	env Env
	// apiBaseFromConfig is set when the user chose APIBase, which then wins
	// over a base a token names (Copilot's endpoints.api).
	apiBaseFromConfig bool
	// decorate sets what this provider requires once the client's
	// credentials are gone.
	decorate func(h http.Header, c auth.Credentials)
	// baseFromCreds may name a per-account API base (Copilot).
	baseFromCreds func(c auth.Credentials) string
	// reroute sends some paths beside the API base (Codex's backend calls).
	reroute func(base *url.URL, rest string) (*url.URL, string)
	// oidc is the lazy discovery state of a generic OIDC provider.
	oidc *oidcState
}

// String names the provider without any of its client settings, so a
// printed provider never shows an OIDC client secret.
func (p *Provider) String() string { return "provider " + p.Name }

// Supports reports whether the provider offers flow f, so the CLI and the
// dashboard refuse a flow before starting it.
func (p *Provider) Supports(f auth.Flow) bool { return slices.Contains(p.Flows, f) }

// APIFormat names the wire API the provider's endpoint speaks
// (APIAnthropic or APIOpenAI): what clients must send to its route.
func (p *Provider) APIFormat() string {
	if p.apiFormat == "" {
		return APIOpenAI
	}
	return p.apiFormat
}

// ErrorFormat names the error body shape of the provider's API ("anthropic"
// or "openai"), used by the proxy for the errors it writes itself.
func (p *Provider) ErrorFormat() string {
	if p.errorShape == "" {
		return ErrorFormatOpenAI
	}
	return p.errorShape
}

// Env is what `env` prints so that clients use a provider's route.
type Env struct {
	// Clients names who reads the variables, for the comment above them.
	Clients string
	// BaseURL and APIKey name the variables for the route's URL and the
	// proxy's key.
	BaseURL, APIKey string
	// notes are comment lines for clients that ignore the variables.
	notes func(url string) []string
}

// Notes are the lines, given the route's URL, that `env` prints as
// comments after the variables (the Codex CLI's config.toml block); ""
// is a blank comment line.
func (e Env) Notes(url string) []string {
	if e.notes == nil {
		return nil
	}
	return e.notes(url)
}

// The variables of each API format's clients.
var (
	anthropicEnv = Env{Clients: "Claude Code and the Anthropic SDK", BaseURL: "ANTHROPIC_BASE_URL", APIKey: "ANTHROPIC_AUTH_TOKEN"}
	openAIEnv    = Env{Clients: "the OpenAI SDK", BaseURL: "OPENAI_BASE_URL", APIKey: "OPENAI_API_KEY"}
)

// envOf is the variables the clients of an API format read.
func envOf(format string) Env {
	if format == APIAnthropic {
		return anthropicEnv
	}
	return openAIEnv
}

// errorShapeOf is the error shape the clients of an API format parse.
func errorShapeOf(format string) string {
	if format == APIAnthropic {
		return ErrorFormatAnthropic
	}
	return ErrorFormatOpenAI
}

// Env says what `env` prints for the provider.
func (p *Provider) Env() Env {
	if p.env.BaseURL == "" {
		return envOf(p.APIFormat())
	}
	return p.env
}

// Reroute sends a request for rest beside the API base when the provider
// keeps some calls elsewhere (Codex's backend calls, see codexReroute);
// anything else keeps the base.
func (p *Provider) Reroute(base *url.URL, rest string) (*url.URL, string) {
	if p.reroute == nil {
		return base, rest
	}
	return p.reroute(base, rest)
}

// BaseURL is where the proxy sends this provider's requests for the account
// holding c. Copilot tokens may name their own API host; a base set in the
// config always wins.
func (p *Provider) BaseURL(c auth.Credentials) (*url.URL, error) {
	base := p.APIBase
	if !p.apiBaseFromConfig && p.baseFromCreds != nil {
		if b := p.baseFromCreds(c); b != "" {
			base = b
		}
	}
	u, err := parseHTTPURL(base)
	if err != nil {
		return nil, fmt.Errorf("%s api_base: %w", p.Name, err)
	}
	return u, nil
}

// Decorate turns the client's request headers into ones the provider
// accepts: the client's own credentials (Authorization, x-api-key, cookies)
// are removed, the provider's required headers and the config's headers are
// set, and the access token of c goes in last so nothing can replace it.
// Nothing else the client sent is touched: no identity headers are added or
// rewritten.
func (p *Provider) Decorate(h http.Header, c auth.Credentials) {
	h.Del("Authorization")
	h.Del("X-Api-Key")
	h.Del("Cookie")
	for k, v := range p.Headers {
		if http.CanonicalHeaderKey(k) == "Authorization" {
			continue
		}
		h.Set(k, v)
	}
	if p.decorate != nil {
		p.decorate(h, c)
	}
	h.Set("Authorization", "Bearer "+c.AccessToken)
}

// setIfAbsent sets k only when the client did not send it, so a client's own
// value (its real editor version, say) always wins over our default.
func setIfAbsent(h http.Header, k, v string) {
	if h.Get(k) == "" {
		h.Set(k, v)
	}
}
