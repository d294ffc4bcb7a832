package providers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Error shapes a provider's API speaks, so the proxy can answer in kind.
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

	errorFormat string
	// apiBaseFromConfig is set when the user chose APIBase, which then wins
	// over a base a token names (Copilot's endpoints.api).
	apiBaseFromConfig bool
	// decorate sets what this provider requires once the client's
	// credentials are gone.
	decorate func(h http.Header, c auth.Credentials)
	// baseFromCreds may name a per-account API base (Copilot).
	baseFromCreds func(c auth.Credentials) string
	// oidc is the lazy discovery state of a generic OIDC provider.
	oidc *oidcState
}

// String names the provider without any of its client settings, so a
// printed provider never shows an OIDC client secret.
func (p *Provider) String() string { return "provider " + p.Name }

// Supports reports whether the provider offers flow f, so the CLI and the
// dashboard refuse a flow before starting it.
func (p *Provider) Supports(f auth.Flow) bool { return slices.Contains(p.Flows, f) }

// ErrorFormat names the error body shape of the provider's API ("anthropic"
// or "openai"), used by the proxy for the errors it writes itself.
func (p *Provider) ErrorFormat() string {
	if p.errorFormat == "" {
		return ErrorFormatOpenAI
	}
	return p.errorFormat
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

func parseHTTPURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("no URL set")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %w", s, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("bad URL %q: want an absolute http(s) URL", s)
	}
	return u, nil
}
