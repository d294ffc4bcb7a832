package providers

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
)

// Built-in provider names, in the order screens list them.
const (
	Claude  = "claude"
	Codex   = "codex"
	Copilot = "copilot"
)

var builtinNames = []string{Claude, Codex, Copilot}

// Registry holds the enabled providers: the built-ins with the config's
// overrides applied, then the generic OIDC providers the config declares.
type Registry struct {
	order  []string
	byName map[string]*Provider
	// disabled remembers built-ins switched off, so Get can say why.
	disabled map[string]bool
}

// Option adjusts how NewRegistry builds providers (tests inject a clock, an
// HTTP client and loopback endpoints).
type Option func(*options)

type options struct {
	client *http.Client
	clock  clockwork.Clock
}

// WithHTTPClient makes every provider use client for its OAuth and token
// calls.
func WithHTTPClient(client *http.Client) Option { return func(o *options) { o.client = client } }

// WithClock sets the clock used for expiry arithmetic.
func WithClock(c clockwork.Clock) Option { return func(o *options) { o.clock = c } }

// NewRegistry builds the providers from cfg. It does no network I/O: OIDC
// discovery waits for the first login or refresh. A [providers.<name>] table
// that names no built-in and is not type "oidc" is an error listing the
// known names.
func NewRegistry(cfg config.Config, opts ...Option) (*Registry, error) {
	o := options{clock: clockwork.NewRealClock()}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Registry{byName: map[string]*Provider{}, disabled: map[string]bool{}}
	for _, name := range builtinNames {
		ov := cfg.Providers[name]
		if ov.Type != "" && ov.Type != name && ov.Type != "builtin" {
			return nil, fmt.Errorf("[providers.%s]: type %q cannot replace the built-in %s provider; use another name", name, ov.Type, name)
		}
		if ov.Enabled != nil && !*ov.Enabled {
			r.disabled[name] = true
			continue
		}
		p := newBuiltin(name, o)
		if err := applyOverrides(p, ov); err != nil {
			return nil, fmt.Errorf("[providers.%s]: %w", name, err)
		}
		r.add(p)
	}
	var extra []string
	for name := range cfg.Providers {
		if !slices.Contains(builtinNames, name) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		pc := cfg.Providers[name]
		if pc.Type != "oidc" {
			return nil, fmt.Errorf("[providers.%s]: %w", name, unknownError(name, builtinNames,
				`to add a generic provider set type = "oidc"`))
		}
		if pc.Enabled != nil && !*pc.Enabled {
			r.disabled[name] = true
			continue
		}
		p, err := newOIDC(name, pc, o)
		if err != nil {
			return nil, fmt.Errorf("[providers.%s]: %w", name, err)
		}
		r.add(p)
	}
	return r, nil
}

func (r *Registry) add(p *Provider) {
	r.order = append(r.order, p.Name)
	r.byName[p.Name] = p
}

// Get returns the named provider, or an error listing the known names.
func (r *Registry) Get(name string) (*Provider, error) {
	if p, ok := r.byName[name]; ok {
		return p, nil
	}
	if r.disabled[name] {
		return nil, fmt.Errorf("provider %q is disabled in the config ([providers.%s] enabled = false)", name, name)
	}
	return nil, unknownError(name, r.Names(), "")
}

// All returns the enabled providers: claude, codex, copilot, then the
// config's own providers by name.
func (r *Registry) All() []*Provider {
	out := make([]*Provider, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.byName[n])
	}
	return out
}

// Names returns the enabled providers' names in the order of All.
func (r *Registry) Names() []string { return slices.Clone(r.order) }

// UnknownProviderError is returned for a provider name nobody knows; Known
// lists the names that would have worked.
type UnknownProviderError struct {
	Name  string
	Known []string
	hint  string
}

func (e *UnknownProviderError) Error() string {
	msg := fmt.Sprintf("unknown provider %q (known: %s)", e.Name, strings.Join(e.Known, ", "))
	if e.hint != "" {
		msg += "; " + e.hint
	}
	return msg
}

func unknownError(name string, known []string, hint string) error {
	return &UnknownProviderError{Name: name, Known: slices.Clone(known), hint: hint}
}

func newBuiltin(name string, o options) *Provider {
	var p *Provider
	switch name {
	case Claude:
		p = newClaude()
	case Codex:
		p = newCodex("")
	case Copilot:
		p = newCopilot("")
	}
	p.OAuth.HTTPClient = o.client
	p.OAuth.Clock = o.clock
	switch name {
	case Claude:
		p.Usage = Usage{URL: claudeUsageURL, Poll: true, Scope: claudeUsageScope}
	case Codex:
		p.Usage = Usage{URL: codexUsageURL, Poll: true}
	case Copilot:
		p.Usage = Usage{URL: copilotUsageURL, Poll: true, authorize: copilotUsageAuth}
	}
	return p
}

// applyOverrides copies every non-empty field of the config table over the
// built-in value.
func applyOverrides(p *Provider, ov config.Provider) error {
	if ov.Issuer != "" && p.Name == Codex {
		// Codex derives every endpoint from its issuer, so one key moves
		// them all; the explicit keys below still win.
		keep := p.OAuth.HTTPClient
		clock := p.OAuth.Clock
		*p = *newCodex(ov.Issuer)
		p.OAuth.HTTPClient, p.OAuth.Clock = keep, clock
	}
	if ov.CopilotTokenURL != "" && p.Name == Copilot {
		keep := p.OAuth.HTTPClient
		clock := p.OAuth.Clock
		*p = *newCopilot(ov.CopilotTokenURL)
		p.OAuth.HTTPClient, p.OAuth.Clock = keep, clock
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.DisplayName, ov.DisplayName)
	set(&p.OAuth.ClientID, ov.ClientID)
	set(&p.OAuth.ClientSecret, ov.ClientSecret)
	set(&p.OAuth.AuthURL, ov.AuthorizeURL)
	set(&p.OAuth.TokenURL, ov.TokenURL)
	set(&p.OAuth.DeviceURL, ov.DeviceURL)
	set(&p.OAuth.RedirectURL, ov.RedirectURL)
	set(&p.OAuth.RevocationURL, ov.RevocationURL)
	set(&p.Usage.URL, ov.UsageURL)
	if ov.QuotaPoll != nil {
		p.Usage.Poll = *ov.QuotaPoll
	}
	if ov.Scopes != nil {
		p.OAuth.Scopes = slices.Clone(ov.Scopes)
	}
	if ov.APIBase != "" {
		p.APIBase = ov.APIBase
		p.apiBaseFromConfig = true
	}
	if len(ov.Headers) > 0 {
		p.Headers = make(map[string]string, len(ov.Headers))
		for k, v := range ov.Headers {
			p.Headers[k] = v
		}
	}
	if ov.Flow != "" {
		f := auth.Flow(ov.Flow)
		if !p.Supports(f) {
			return fmt.Errorf("flow %q is not offered by %s (offered: %s)", ov.Flow, p.Name, flowList(p.Flows))
		}
		p.Flows = append([]auth.Flow{f}, slices.DeleteFunc(slices.Clone(p.Flows), func(x auth.Flow) bool { return x == f })...)
	}
	return validateURLs(p)
}

func validateURLs(p *Provider) error {
	for _, u := range []struct{ key, v string }{
		{"authorize_url", p.OAuth.AuthURL},
		{"token_url", p.OAuth.TokenURL},
		{"device_url", p.OAuth.DeviceURL},
		{"redirect_url", p.OAuth.RedirectURL},
		{"api_base", p.APIBase},
		{"usage_url", p.Usage.URL},
	} {
		if u.v == "" {
			continue
		}
		if _, err := parseHTTPURL(u.v); err != nil {
			return fmt.Errorf("%s: %w", u.key, err)
		}
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
