package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Copilot is the built-in for GitHub Copilot subscriptions.
const Copilot = "copilot"

// copilotBuiltin declares Copilot: its device login below and the second
// token it trades the GitHub token for (copilot_token_url moves that
// endpoint), the editor plugins' files to import, the x-quota-snapshot-*
// quota family.
var copilotBuiltin = builtin{
	name:        Copilot,
	provider:    func(s Spec) *Provider { return newCopilot(s.CopilotTokenURL) },
	keys:        []string{keyCopilotTokenURL},
	importer:    importCopilot,
	quotaFamily: QuotaCopilot,
	chatPath:    "/chat/completions",
}

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
	// copilotUsageURL is where the quota of the account is read
	// (PROVIDERS.md §7.4).
	copilotUsageURL = "https://api.github.com/copilot_internal/user"
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
		apiFormat:   APIOpenAI,
		errorShape:  ErrorFormatOpenAI,
		Usage:       Usage{URL: copilotUsageURL, Poll: true, authorize: copilotUsageAuth},
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
	now := a.At()
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

// copilotUsageAuth: copilot_internal/user takes the GitHub OAuth token
// (kept as the refresh token), in GitHub's "token" scheme.
func copilotUsageAuth(h http.Header, c auth.Credentials) {
	if c.RefreshToken != "" {
		h.Set("Authorization", "token "+c.RefreshToken)
	}
	h.Set("X-GitHub-Api-Version", "2025-04-01")
}

// Copilot's editor-plugin files (closed source; the shape comes from
// third-party readers): apps.json
// keyed "<host>:<client id>", hosts.json keyed "<host>".
type copilotEntry struct {
	User       string `json:"user"`
	OAuthToken string `json:"oauth_token"`
	AppID      string `json:"githubAppId"`
}

func importCopilot(env importEnv) (*ImportPlan, error) {
	base := env.getenv("XDG_CONFIG_HOME")
	if base == "" {
		base = filepath.Join(env.home, ".config")
	}
	dir := filepath.Join(base, "github-copilot")
	type candidate struct {
		path  string
		key   string
		entry copilotEntry
	}
	var found []candidate
	var looked []string
	for _, name := range []string{"apps.json", "hosts.json"} {
		var entries map[string]copilotEntry
		path, err := readImportFile(Copilot, &entries, filepath.Join(dir, name))
		looked = append(looked, filepath.Join(dir, name))
		if errors.Is(err, ErrNoImportSource) {
			continue
		}
		if err != nil {
			return nil, err
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range entries {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range keys {
			host, _, _ := strings.Cut(k, ":")
			if host == "github.com" && entries[k].OAuthToken != "" {
				found = append(found, candidate{path, k, entries[k]})
			}
		}
	}
	if len(found) == 0 {
		if len(looked) > 0 && fileExists(looked...) {
			return nil, fmt.Errorf("import copilot: no github.com token in %s", strings.Join(existing(looked), ", "))
		}
		return nil, fmt.Errorf("import copilot: looked in %s: %w", strings.Join(looked, ", "), ErrNoImportSource)
	}
	// Prefer GitHub App user tokens (ghu_), which the Copilot token endpoint
	// accepts; then the VS Code app's entry; then file order.
	rank := func(c candidate) int {
		r := 2
		if strings.HasPrefix(c.entry.OAuthToken, "ghu_") {
			r = 0
		} else if strings.HasSuffix(c.key, ":"+copilotClientID) {
			r = 1
		}
		return r
	}
	best := slices.MinFunc(found, func(a, b candidate) int { return rank(a) - rank(b) })
	c := auth.Credentials{
		Version:      1,
		Provider:     Copilot,
		RefreshToken: best.entry.OAuthToken,
		AccountID:    best.entry.User,
		ObtainedAt:   env.now,
		Extra:        map[string]string{"imported_from": best.path},
	}
	return &ImportPlan{Provider: Copilot, Source: best.path, Credentials: c,
		Warning: fmt.Sprintf("The GitHub token in %s is shared with your editor's Copilot plugin. It does not rotate, "+
			"so both keep working, but revoking it on GitHub signs out both.", best.path)}, nil
}
