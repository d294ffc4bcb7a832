package providers

import (
	"context"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

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
		errorFormat: ErrorFormatAnthropic,
		decorate:    decorateClaude,
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
