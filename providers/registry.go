package providers

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/jonboulle/clockwork"
)

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

func defaultOptions() options { return options{clock: clockwork.NewRealClock()} }

// WithHTTPClient makes every provider use client for its OAuth and token
// calls.
func WithHTTPClient(client *http.Client) Option { return func(o *options) { o.client = client } }

// WithClock sets the clock used for expiry arithmetic.
func WithClock(c clockwork.Clock) Option { return func(o *options) { o.clock = c } }

// NewRegistry builds the providers from the specs, keyed by provider
// name: every built-in with its spec's overrides, then the generic
// providers by name. It does no network I/O: OIDC discovery waits for the
// first login or refresh. A spec that breaks a rule of Spec.Check is a
// *SpecError; one naming no built-in and not of type "oidc" wraps an
// *UnknownProviderError listing the known names.
func NewRegistry(specs map[string]Spec, opts ...Option) (*Registry, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	r := &Registry{byName: map[string]*Provider{}, disabled: map[string]bool{}}
	names := builtinNames()
	var extra []string
	for name := range specs {
		if lookupBuiltin(name) == nil {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range append(names, extra...) {
		p, enabled, err := build(name, specs[name], o)
		if err != nil {
			return nil, err
		}
		if !enabled {
			r.disabled[name] = true
			continue
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
