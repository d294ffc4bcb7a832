package providers

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Claude is the built-in for Claude Pro/Max subscriptions.
const Claude = "claude"

// claudeBuiltin declares Claude: its OAuth client below, Claude Code's
// credential file to import, Anthropic's quota family.
var claudeBuiltin = builtin{
	name:        Claude,
	provider:    func(Spec) *Provider { return newClaude() },
	importer:    importClaude,
	quotaFamily: QuotaAnthropic,
	chatPath:    "/v1/messages",
}

// Claude's constants, as Claude Code's own OAuth client uses them (read from
// router-for-me/CLIProxyAPI:internal/auth/claude/anthropic_auth.go and
// sst/opencode-anthropic-auth:index.mjs). All are overridable from
// [providers.claude].
const (
	claudeClientID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
	claudeAuthURL  = "https://claude.ai/oauth/authorize"
	claudeTokenURL = "https://platform.claude.com/v1/oauth/token"
	claudeRedirect = "http://localhost:54545/callback"
	// claudePastePage is the hosted page that shows CODE#STATE. The
	// platform.claude.com page is UNVERIFIED but is where the token endpoint
	// moved too; the older console.anthropic.com page sits behind a
	// Cloudflare challenge.
	claudePastePage = "https://platform.claude.com/oauth/code/callback"
	claudeAPIBase   = "https://api.anthropic.com"

	// ClaudeOAuthBeta is the anthropic-beta value without which the API
	// refuses OAuth tokens (401 "OAuth authentication is currently not
	// supported").
	ClaudeOAuthBeta = "oauth-2025-04-20"
	// claudeAPIVersion is sent only when the client sent none.
	claudeAPIVersion = "2023-06-01"

	// claudeUsageURL is the usage endpoint (PROVIDERS.md §7.2).
	claudeUsageURL = "https://api.anthropic.com/api/oauth/usage"
	// claudeUsageScope is the scope Anthropic's usage endpoint demands.
	claudeUsageScope = "user:profile"
)

// claudeScopes is the current scope set (CLIProxyAPI since 2026-04-02).
var claudeScopes = []string{
	"user:profile", "user:inference", "user:sessions:claude_code",
	"user:mcp_servers", "user:file_upload",
}

func newClaude() *Provider {
	p := &Provider{
		Name:        Claude,
		DisplayName: "Claude (Pro/Max)",
		Flows:       []auth.Flow{auth.FlowBrowser, auth.FlowPaste},
		APIBase:     claudeAPIBase,
		apiFormat:   APIAnthropic,
		errorShape:  ErrorFormatAnthropic,
		decorate:    decorateClaude,
		Usage:       Usage{URL: claudeUsageURL, Poll: true, Scope: claudeUsageScope},
		OAuth: auth.Config{
			Provider:         Claude,
			ClientID:         claudeClientID,
			AuthURL:          claudeAuthURL,
			TokenURL:         claudeTokenURL,
			RedirectURL:      claudeRedirect,
			PasteRedirectURL: claudePastePage,
			Scopes:           append([]string(nil), claudeScopes...),
			// code=true makes the hosted page display the code to paste.
			AuthParams: map[string]string{"code": "true"},
		},
	}
	p.OAuth.Hooks = claudeHooks()
	return p
}

// decorateClaude merges the OAuth beta into the client's anthropic-beta list
// and fills anthropic-version when the client sent none. Claude Code's own
// identity headers (User-Agent, X-App, X-Stainless-*) are the client's to
// send; none are added.
func decorateClaude(h http.Header, _ auth.Credentials) {
	h.Set("Anthropic-Beta", strings.Join(mergeList(h.Values("Anthropic-Beta"), ClaudeOAuthBeta), ","))
	setIfAbsent(h, "Anthropic-Version", claudeAPIVersion)
}

// mergeList flattens comma-separated header values, drops blanks and
// duplicates keeping the first occurrence's order, and appends each of want
// that is missing.
func mergeList(values []string, want ...string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(v string) {
		v = strings.TrimSpace(v)
		if v == "" || seen[v] {
			return
		}
		seen[v] = true
		out = append(out, v)
	}
	for _, line := range values {
		for _, v := range strings.Split(line, ",") {
			add(v)
		}
	}
	for _, w := range want {
		add(w)
	}
	return out
}

// completeClaude reads the identity Claude puts in the token response:
// account{uuid,email_address} and organization{uuid,name}. A refresh
// response often lacks them; then the previous identity stays. The profile
// endpoint is deliberately not called: one less request per refresh, and
// the token response already names the account.
func completeClaude(_ context.Context, _ *auth.Config, tok *oauth2.Token, c *auth.Credentials) error {
	acct := objectField(tok.Extra("account"))
	if id := stringField(acct, "uuid"); id != "" {
		c.AccountID = id
	}
	if e := stringField(acct, "email_address"); e != "" {
		c.Email = e
	}
	org := objectField(tok.Extra("organization"))
	if id := stringField(org, "uuid"); id != "" {
		setExtra(c, "organization_id", id)
	}
	if n := stringField(org, "name"); n != "" {
		setExtra(c, "organization_name", n)
	}
	return nil
}

func setExtra(c *auth.Credentials, k, v string) {
	if c.Extra == nil {
		c.Extra = map[string]string{}
	}
	c.Extra[k] = v
}

// claudeExchange is the JSON body Claude's token endpoint wants for a code
// exchange; unlike RFC 6749 it carries state.
type claudeExchange struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code"`
	RedirectURI  string `json:"redirect_uri"`
	ClientID     string `json:"client_id"`
	CodeVerifier string `json:"code_verifier"`
	State        string `json:"state"`
}

// claudeRefresh is the JSON refresh body. Scope is left out (RFC 6749: the
// grant keeps its original scopes); CLIProxyAPI adds it, opencode does not,
// both work.
type claudeRefresh struct {
	GrantType    string `json:"grant_type"`
	RefreshToken string `json:"refresh_token"`
	ClientID     string `json:"client_id"`
}

// claudeHooks: Claude's token endpoint rejects form bodies; it wants JSON,
// for the exchange and for the refresh.
func claudeHooks() auth.Hooks {
	return auth.Hooks{
		Exchange: func(ctx context.Context, cfg *auth.Config, x auth.CodeExchange) (*oauth2.Token, error) {
			return cfg.PostToken(ctx, "exchange", claudeExchange{
				GrantType:    "authorization_code",
				Code:         x.Code,
				RedirectURI:  x.RedirectURL,
				ClientID:     cfg.ClientID,
				CodeVerifier: x.Verifier,
				State:        x.State,
			})
		},
		Refresh: func(ctx context.Context, cfg *auth.Config, cur auth.Credentials) (*oauth2.Token, error) {
			return cfg.PostToken(ctx, "refresh", claudeRefresh{
				GrantType:    "refresh_token",
				RefreshToken: cur.RefreshToken,
				ClientID:     cfg.ClientID,
			})
		},
		Complete: completeClaude,
	}
}

// Claude Code's file. Claude Code is closed source: the shape comes from
// third-party readers, consistent with one another but unverified.
type claudeCodeFile struct {
	ClaudeAiOauth *struct {
		AccessToken      string   `json:"accessToken"`
		RefreshToken     string   `json:"refreshToken"`
		ExpiresAt        float64  `json:"expiresAt"`
		Scopes           []string `json:"scopes"`
		SubscriptionType string   `json:"subscriptionType"`
	} `json:"claudeAiOauth"`
}

type claudeCodeAccount struct {
	OAuthAccount struct {
		AccountUUID      string `json:"accountUuid"`
		EmailAddress     string `json:"emailAddress"`
		OrganizationUUID string `json:"organizationUuid"`
	} `json:"oauthAccount"`
}

func importClaude(env importEnv) (*ImportPlan, error) {
	var f claudeCodeFile
	path, err := readImportFile(Claude, &f,
		filepath.Join(env.home, ".claude", ".credentials.json"),
		filepath.Join(env.home, ".config", "claude", ".credentials.json"))
	if err != nil {
		return nil, err
	}
	o := f.ClaudeAiOauth
	if o == nil || o.AccessToken == "" {
		return nil, fmt.Errorf("import claude: %s has no claudeAiOauth login (log in with Claude Code first, or use `ccproxy-tui auth login claude`)", path)
	}
	c := auth.Credentials{
		Version:      1,
		Provider:     Claude,
		AccessToken:  o.AccessToken,
		RefreshToken: o.RefreshToken,
		TokenType:    "Bearer",
		ExpiresAt:    epochMillis(o.ExpiresAt),
		Scopes:       slices.Clone(o.Scopes),
		Plan:         o.SubscriptionType,
		ObtainedAt:   env.now,
		Extra:        map[string]string{"imported_from": path},
	}
	// The account lives beside the credentials, in ~/.claude.json; it is
	// optional, so a missing or odd file only leaves the account empty.
	var acct claudeCodeAccount
	if _, err := readImportFile(Claude, &acct, filepath.Join(env.home, ".claude.json")); err == nil {
		c.AccountID = acct.OAuthAccount.AccountUUID
		c.Email = acct.OAuthAccount.EmailAddress
		if acct.OAuthAccount.OrganizationUUID != "" {
			c.Extra["organization_id"] = acct.OAuthAccount.OrganizationUUID
		}
	}
	return &ImportPlan{Provider: Claude, Source: path, Credentials: c,
		Warning: rotationWarning("Claude Code", path, Claude)}, nil
}

// epochMillis reads Claude Code's expiresAt (milliseconds); a value too small
// to be milliseconds is taken as seconds.
func epochMillis(v float64) time.Time {
	switch {
	case v <= 0:
		return time.Time{}
	case v < 1e12:
		return time.Unix(int64(v), 0).UTC()
	default:
		return time.UnixMilli(int64(v)).UTC()
	}
}
