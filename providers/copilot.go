package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/oauth2"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Copilot's constants: the editor integration's GitHub App and its Copilot
// token exchange (ericc-ch/copilot-api:src/lib/api-config.ts). The GitHub device login yields a
// long-lived GitHub token; the API wants a short-lived Copilot token fetched
// with it. ccproxy-tui keeps the GitHub token as Credentials.RefreshToken and
// the Copilot token as AccessToken, so "refresh" means re-fetching the
// Copilot token and the lifecycle needs nothing special.
const (
	copilotClientID  = "Iv1.b507a08c87ecfe98"
	copilotDeviceURL = "https://github.com/login/device/code"
	copilotTokenURL  = "https://github.com/login/oauth/access_token"
	copilotAuthURL   = "https://github.com/login/oauth/authorize"
	// copilotInternalTokenURL trades the GitHub token for a Copilot token.
	copilotInternalTokenURL = "https://api.github.com/copilot_internal/v2/token"
	copilotAPIBase          = "https://api.githubcopilot.com"
	// copilotRefetchEarly is how long before GitHub's refresh_in the token is
	// treated as due, as the reference clients do (refresh_in - 60 s).
	copilotRefetchEarly = 60 * time.Second

	// Extra keys of a Copilot credential.
	extraCopilotAPI     = "copilot_api"        // endpoints.api of the token
	extraCopilotExpires = "copilot_expires_at" // the token's real expiry, RFC 3339
	// extraCopilotFetched marks a token the refresh hook already fetched.
	extraCopilotFetched = "ccproxy_copilot_token"
)

// copilotHeaderDefaults are the integration headers the Copilot API requires
// to accept a token (ericc-ch/copilot-api api-config.ts). They identify the
// integration, not the user's client, and the API refuses requests without
// them, so the proxy sets them — but only when the client did not send its
// own, and the config's headers table replaces any of them. User-Agent is
// never set: the client's own passes through.
var copilotHeaderDefaults = []struct{ key, value string }{
	{"Copilot-Integration-Id", "vscode-chat"},
	{"Editor-Version", "vscode/1.104.3"},
	{"Editor-Plugin-Version", "copilot-chat/0.26.7"},
	{"X-GitHub-Api-Version", "2025-04-01"},
}

func newCopilot(tokenURL string) *Provider {
	if tokenURL == "" {
		tokenURL = copilotInternalTokenURL
	}
	p := &Provider{
		Name:        Copilot,
		DisplayName: "GitHub Copilot",
		Flows:       []auth.Flow{auth.FlowDevice},
		APIBase:     copilotAPIBase,
		errorFormat: ErrorFormatOpenAI,
		OAuth: auth.Config{
			Provider:  Copilot,
			ClientID:  copilotClientID,
			AuthURL:   copilotAuthURL,
			TokenURL:  copilotTokenURL,
			DeviceURL: copilotDeviceURL,
			Scopes:    []string{"read:user"},
		},
	}
	p.decorate = func(h http.Header, _ auth.Credentials) {
		for _, d := range copilotHeaderDefaults {
			setIfAbsent(h, d.key, d.value)
		}
	}
	p.baseFromCreds = func(c auth.Credentials) string { return c.Extra[extraCopilotAPI] }
	f := &copilotFetcher{url: tokenURL, headers: func() map[string]string { return p.Headers }}
	if base, ok := strings.CutSuffix(tokenURL, "/copilot_internal/v2/token"); ok {
		f.userURL = base + "/user"
	}
	p.OAuth.Hooks = auth.Hooks{Refresh: f.refresh, Complete: f.complete}
	return p
}

type copilotFetcher struct {
	url string
	// userURL is GitHub's GET /user beside the token endpoint, for the
	// account name; empty when the token URL has an unusual shape.
	userURL string
	// headers are the config's headers, which also apply to the token fetch.
	headers func() map[string]string
}

type copilotTokenReply struct {
	Token     string `json:"token"`
	ExpiresAt int64  `json:"expires_at"`
	RefreshIn int64  `json:"refresh_in"`
	Endpoints struct {
		API string `json:"api"`
	} `json:"endpoints"`
}

// copilotToken is a fetched Copilot token with its schedule.
type copilotToken struct {
	Token string
	// Due is when to re-fetch: refresh_in - 60 s after the fetch, never after
	// the real expiry. It becomes Credentials.ExpiresAt, so the scheduler's
	// grace refresh happens before GitHub's refresh_in.
	Due     time.Time
	Expires time.Time
	API     string
}

// fetch trades the GitHub token for a Copilot token.
func (f *copilotFetcher) fetch(ctx context.Context, cfg *auth.Config, ghToken, op string) (copilotToken, error) {
	if ghToken == "" {
		return copilotToken{}, &auth.Error{Provider: cfg.Provider, Op: op, Kind: auth.ErrLoginRequired,
			Err: errors.New("no GitHub token stored")}
	}
	if _, err := parseHTTPURL(f.url); err != nil {
		return copilotToken{}, &auth.Error{Provider: cfg.Provider, Op: op, Kind: auth.ErrMisconfigured,
			Err: fmt.Errorf("copilot token URL: %w", err)}
	}
	h := http.Header{}
	for _, d := range copilotHeaderDefaults {
		h.Set(d.key, d.value)
	}
	for k, v := range f.headers() {
		h.Set(k, v)
	}
	h.Set("Authorization", "token "+ghToken)
	var reply copilotTokenReply
	a, err := cfg.Call(ctx, op, auth.Request{Method: http.MethodGet, URL: f.url, Header: h}, &reply)
	if err != nil {
		if a != nil && (a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden) {
			return copilotToken{}, &auth.Error{Provider: cfg.Provider, Op: op, Kind: auth.ErrLoginRequired,
				Err: fmt.Errorf("GitHub refused the Copilot token request (HTTP %d): the GitHub token is revoked or the account has no Copilot access", a.Status)}
		}
		return copilotToken{}, err
	}
	if reply.Token == "" {
		return copilotToken{}, &auth.Error{Provider: cfg.Provider, Op: op, Kind: auth.ErrMisconfigured,
			Err: errors.New("copilot token endpoint answered without a token")}
	}
	clock := cfg.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	now := clock.Now()
	t := copilotToken{Token: reply.Token, API: reply.Endpoints.API}
	if reply.ExpiresAt > 0 {
		t.Expires = time.Unix(reply.ExpiresAt, 0).UTC()
		t.Due = t.Expires
	}
	if reply.RefreshIn > 0 {
		due := now.Add(time.Duration(reply.RefreshIn)*time.Second - copilotRefetchEarly)
		if t.Due.IsZero() || due.Before(t.Due) {
			t.Due = due
		}
	}
	if t.API != "" {
		if _, err := parseHTTPURL(t.API); err != nil {
			t.API = "" // never route to something that is not a URL
		}
	}
	return t, nil
}

// refresh re-fetches the Copilot token with the GitHub token kept in
// RefreshToken; the GitHub token itself never changes.
func (f *copilotFetcher) refresh(ctx context.Context, cfg *auth.Config, cur auth.Credentials) (*oauth2.Token, error) {
	t, err := f.fetch(ctx, cfg, cur.RefreshToken, "refresh")
	if err != nil {
		return nil, err
	}
	tok := &oauth2.Token{AccessToken: t.Token, RefreshToken: cur.RefreshToken, TokenType: "bearer", Expiry: t.Due}
	return tok.WithExtra(map[string]any{
		extraCopilotFetched: "1",
		extraCopilotAPI:     t.API,
		extraCopilotExpires: formatUnix(t.Expires),
	}), nil
}

// complete runs after the GitHub device login (the token is a GitHub token:
// fetch the Copilot token now) and after every refresh (the token already is
// one: record its schedule).
func (f *copilotFetcher) complete(ctx context.Context, cfg *auth.Config, tok *oauth2.Token, c *auth.Credentials) error {
	if stringValue(tok.Extra(extraCopilotFetched)) != "" {
		setCopilotExtra(c, stringValue(tok.Extra(extraCopilotAPI)), stringValue(tok.Extra(extraCopilotExpires)))
		return nil
	}
	t, err := f.fetch(ctx, cfg, tok.AccessToken, "login")
	if err != nil {
		return err
	}
	c.RefreshToken = tok.AccessToken
	c.AccessToken = t.Token
	c.TokenType = "bearer"
	c.ExpiresAt = t.Due
	setCopilotExtra(c, t.API, formatUnix(t.Expires))
	c.AccountID = f.githubLogin(ctx, cfg, tok.AccessToken)
	return nil
}

// githubLogin names the GitHub account (GET /user → login) for screens. It
// is best effort: the login already succeeded, so a failure here only leaves
// the account blank.
func (f *copilotFetcher) githubLogin(ctx context.Context, cfg *auth.Config, ghToken string) string {
	if f.userURL == "" {
		return ""
	}
	var user struct {
		Login string `json:"login"`
	}
	h := http.Header{"Authorization": {"token " + ghToken}}
	if _, err := cfg.Call(ctx, "login", auth.Request{Method: http.MethodGet, URL: f.userURL, Header: h}, &user); err != nil {
		return ""
	}
	return user.Login
}

func setCopilotExtra(c *auth.Credentials, api, expires string) {
	if c.Extra == nil {
		c.Extra = map[string]string{}
	}
	delete(c.Extra, extraCopilotAPI)
	delete(c.Extra, extraCopilotExpires)
	if api != "" {
		c.Extra[extraCopilotAPI] = api
	}
	if expires != "" {
		c.Extra[extraCopilotExpires] = expires
	}
}

func formatUnix(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
