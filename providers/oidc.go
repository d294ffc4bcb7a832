package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// oidcDefaultScopes are asked for when the config names none: openid for
// the id_token, offline_access for a refresh token, email and profile for
// the account shown on screens.
var oidcDefaultScopes = []string{"openid", "offline_access", "email", "profile"}

// oidcRedirect is a loopback callback on any free port.
const oidcRedirect = "http://127.0.0.1:0/callback"

// oidcState is a generic provider's discovery, done once on first use and
// kept; a failed discovery is retried on the next use.
type oidcState struct {
	issuer string
	base   *auth.Config
	// insecure is the config's allow_insecure_http: without it, a
	// discovered endpoint that is cleartext http to another machine is
	// refused, as the config's own URLs are.
	insecure bool
	mu       sync.Mutex // guards resolved and verifier
	// resolved is base with the discovered endpoints filled in where the
	// config left them empty.
	resolved *auth.Config
	// verifier checks id_tokens against the issuer's JWKS; nil without an
	// issuer, in which case id_tokens are not trusted for identity.
	verifier *oidc.IDTokenVerifier
}

// newOIDC builds a generic provider from its spec, whose settings
// checkSettings has passed. No network I/O: discovery waits for
// OAuthConfig.
func newOIDC(name string, pc Spec) (*Provider, error) {
	if pc.ClientID == "" {
		return nil, specErrf(name, "", "client_id is required for an oidc provider")
	}
	if pc.Issuer == "" && pc.TokenURL == "" {
		return nil, specErrf(name, "", "an oidc provider needs issuer (discovery) or explicit authorize_url/device_url and token_url")
	}
	scopes := slices.Clone(pc.Scopes)
	if len(scopes) == 0 {
		scopes = slices.Clone(oidcDefaultScopes)
	}
	if !slices.Contains(scopes, "openid") {
		scopes = append([]string{"openid"}, scopes...)
	}
	display := pc.DisplayName
	if display == "" {
		display = name
	}
	format := APIOpenAI
	if pc.APIFormat != "" {
		format = pc.APIFormat
	}
	p := &Provider{
		Name:        name,
		DisplayName: display,
		apiFormat:   format,
		errorShape:  errorShapeOf(format),
		OAuth: auth.Config{
			Provider:      name,
			ClientID:      pc.ClientID,
			ClientSecret:  pc.ClientSecret,
			AuthURL:       pc.AuthorizeURL,
			TokenURL:      pc.TokenURL,
			DeviceURL:     pc.DeviceURL,
			RedirectURL:   pc.RedirectURL,
			RevocationURL: pc.RevocationURL,
			Scopes:        scopes,
		},
	}
	if p.OAuth.RedirectURL == "" {
		p.OAuth.RedirectURL = oidcRedirect
	}
	flows, err := oidcFlows(pc)
	if err != nil {
		key := "flow"
		if pc.Flow == "" {
			key = ""
		}
		return nil, specErr(name, key, err)
	}
	p.Flows = flows
	if pc.APIBase != "" {
		p.APIBase = pc.APIBase
		p.apiBaseFromConfig = true
	}
	if len(pc.Headers) > 0 {
		p.Headers = make(map[string]string, len(pc.Headers))
		for k, v := range pc.Headers {
			p.Headers[k] = v
		}
	}
	p.Usage = Usage{URL: pc.UsageURL, Poll: pc.UsageURL != ""}
	if pc.QuotaPoll != nil {
		p.Usage.Poll = p.Usage.Poll && *pc.QuotaPoll
	}
	st := &oidcState{issuer: strings.TrimRight(pc.Issuer, "/"), insecure: pc.AllowInsecureHTTP}
	p.oidc = st
	p.OAuth.Hooks = auth.Hooks{Complete: st.complete}
	st.base = &p.OAuth
	return p, nil
}

// oidcFlows is every login a generic provider's endpoints allow, the
// config's flow first: browser and paste wherever an authorize endpoint is
// known (configured, or found by discovery), device wherever a device
// endpoint is (configured, or listed by discovery, which is checked when a
// device login starts). flow only picks the default.
func oidcFlows(pc Spec) ([]auth.Flow, error) {
	var flows []auth.Flow
	if pc.AuthorizeURL != "" || pc.Issuer != "" {
		// Paste finishes the same loopback login by hand: the user pastes
		// the address the browser could not load, which is what works
		// over SSH without a tunnel.
		flows = append(flows, auth.FlowBrowser, auth.FlowPaste)
	}
	if pc.DeviceURL != "" || pc.Issuer != "" {
		flows = append(flows, auth.FlowDevice)
	}
	want := auth.Flow(pc.Flow)
	if want == "" {
		if len(flows) == 0 {
			return nil, errors.New("an oidc provider needs issuer (discovery), authorize_url or device_url to log in with")
		}
		return flows, nil
	}
	if !slices.Contains(flows, want) {
		need := "authorize_url"
		if want == auth.FlowDevice {
			need = "device_url"
		}
		return nil, fmt.Errorf("flow %q needs issuer (discovery) or %s", pc.Flow, need)
	}
	return append([]auth.Flow{want}, slices.DeleteFunc(flows, func(f auth.Flow) bool { return f == want })...), nil
}

// OAuthConfig returns the client to run a login or refresh with. For the
// built-ins it is &p.OAuth. A generic OIDC provider configured by issuer
// runs discovery on the first call (through the provider's HTTP client) and
// fills the endpoints the config left empty; the result is cached.
func (p *Provider) OAuthConfig(ctx context.Context) (*auth.Config, error) {
	if p.oidc == nil {
		return &p.OAuth, nil
	}
	return p.oidc.resolve(ctx)
}

func (s *oidcState) resolve(ctx context.Context) (*auth.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resolved != nil {
		return s.resolved, nil
	}
	cfg := *s.base
	if s.issuer == "" {
		s.resolved = &cfg
		return s.resolved, nil
	}
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	disc, err := oidc.NewProvider(ctx, s.issuer)
	if err != nil {
		kind := auth.ErrTransient
		var mismatch *oidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			kind = auth.ErrMisconfigured
		}
		if ctx.Err() != nil {
			kind = auth.ErrCancelled
		}
		return nil, &auth.Error{Provider: cfg.Provider, Op: "discovery", Kind: kind,
			Err: fmt.Errorf("OIDC discovery at %s: %w", s.issuer, err)}
	}
	ep := disc.Endpoint()
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&cfg.AuthURL, ep.AuthURL)
	fill(&cfg.TokenURL, ep.TokenURL)
	fill(&cfg.DeviceURL, ep.DeviceAuthURL)
	var extra struct {
		IssParam   bool   `json:"authorization_response_iss_parameter_supported"`
		Revocation string `json:"revocation_endpoint"`
	}
	if err := disc.Claims(&extra); err == nil {
		cfg.IssuerInResponse = extra.IssParam
		fill(&cfg.RevocationURL, extra.Revocation)
	}
	cfg.Issuer = s.issuer
	if !s.insecure {
		for _, ep := range []struct{ key, v string }{
			{"authorization_endpoint", cfg.AuthURL}, {"token_endpoint", cfg.TokenURL},
			{"device_authorization_endpoint", cfg.DeviceURL}, {"revocation_endpoint", cfg.RevocationURL},
		} {
			if CleartextRemote(ep.v) {
				return nil, &auth.Error{Provider: cfg.Provider, Op: "discovery", Kind: auth.ErrMisconfigured,
					Err: fmt.Errorf("discovery at %s names %s %s, plain http:// to another machine; nothing was sent there "+
						"(use an https:// issuer, or set allow_insecure_http = true in [providers.%s] on a network you trust)",
						s.issuer, ep.key, ep.v, cfg.Provider)}
			}
		}
	}
	oc := &oidc.Config{ClientID: cfg.ClientID}
	if cfg.Clock != nil {
		oc.Now = cfg.Clock.Now
	}
	// The verifier fetches keys with the client that did the discovery.
	s.verifier = disc.VerifierContext(oidc.ClientContext(context.WithoutCancel(ctx), httpClientOf(&cfg)), oc)
	s.resolved = &cfg
	return s.resolved, nil
}

func (s *oidcState) currentVerifier() *oidc.IDTokenVerifier {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verifier
}

// complete verifies the id_token against the issuer's JWKS (a token signed
// by any other key is refused) and takes the account (sub) and email from
// its claims. A refresh response without an id_token keeps the previous
// identity. Without an issuer there are no keys to check against, so the
// id_token is not trusted for identity at all.
func (s *oidcState) complete(ctx context.Context, cfg *auth.Config, tok *oauth2.Token, c *auth.Credentials) error {
	raw := stringValue(tok.Extra("id_token"))
	if raw == "" || s.issuer == "" {
		return nil
	}
	if _, err := s.resolve(ctx); err != nil {
		return err
	}
	v := s.currentVerifier()
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return &auth.Error{Provider: cfg.Provider, Op: "verify id_token", Kind: auth.ErrMisconfigured,
			Err: fmt.Errorf("the id_token did not verify against %s: %w", s.issuer, scrubJWTError(err))}
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil {
		return &auth.Error{Provider: cfg.Provider, Op: "verify id_token", Kind: auth.ErrMisconfigured,
			Err: errors.New("id_token claims are not a JSON object")}
	}
	c.IDToken = raw
	c.AccountID = idt.Subject
	if claims.Email != "" {
		c.Email = claims.Email
	}
	return nil
}

// scrubJWTError keeps go-oidc's reason but never a token it might quote.
func scrubJWTError(err error) error {
	msg := err.Error()
	if strings.Count(msg, ".") >= 2 && len(msg) > 200 {
		return errors.New("invalid id_token")
	}
	return err
}

// defaultClient serves OIDC discovery when a provider has no HTTP client
// configured: no call to a provider may hang forever.
var defaultClient = &http.Client{Timeout: 30 * time.Second}

func httpClientOf(cfg *auth.Config) *http.Client {
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient
	}
	return defaultClient
}

// Refresh renews cur with the provider's ready OAuth client, running OIDC
// discovery first if it has not run yet. A *Provider therefore serves as the
// lifecycle's Refresher for every provider kind.
func (p *Provider) Refresh(ctx context.Context, cur auth.Credentials) (auth.Credentials, error) {
	cfg, err := p.OAuthConfig(ctx)
	if err != nil {
		return auth.Credentials{}, err
	}
	return cfg.Refresh(ctx, cur)
}
