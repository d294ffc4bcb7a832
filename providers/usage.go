package providers

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Usage is where a provider's quota can be asked for when no response has
// carried it lately. The zero value is "no endpoint".
type Usage struct {
	// URL is the usage endpoint; "" means the provider has none (a
	// generic provider without usage_url).
	URL string
	// Poll is false when the user turned polling off (quota_poll = false).
	Poll bool
	// Scope, when set, is a scope the token must carry for the endpoint
	// to answer; without it the quota comes from traffic only.
	Scope string
	// authorize sets the credentials the endpoint wants, when they are
	// not the API's (Copilot's wants the GitHub token).
	authorize func(h http.Header, c auth.Credentials)
}

// Polls reports whether the quota may be asked of the usage endpoint.
func (u Usage) Polls() bool { return u.URL != "" && u.Poll }

// MissingScope reports whether c lacks the scope the endpoint needs. A
// credential that lists no scopes at all is given the benefit of the doubt.
func (u Usage) MissingScope(c auth.Credentials) bool {
	return u.Scope != "" && len(c.Scopes) > 0 && !slices.Contains(c.Scopes, u.Scope)
}

// UsageRequest builds the GET of the provider's usage endpoint for the
// account holding c, with the headers the provider's API wants (the same
// Decorate as a proxied request) and, for Copilot, the GitHub token.
func (p *Provider) UsageRequest(ctx context.Context, c auth.Credentials) (*http.Request, error) {
	if p.Usage.URL == "" {
		return nil, fmt.Errorf("%s has no usage endpoint; set [providers.%s] usage_url", p.Name, p.Name)
	}
	u, err := parseHTTPURL(p.Usage.URL)
	if err != nil {
		return nil, fmt.Errorf("%s usage_url: %w", p.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s usage_url: %w", p.Name, err)
	}
	req.Header.Set("Accept", "application/json")
	p.Decorate(req.Header, c)
	if p.Usage.authorize != nil {
		p.Usage.authorize(req.Header, c)
	}
	return req, nil
}
