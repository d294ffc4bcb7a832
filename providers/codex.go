package providers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Codex is the built-in for ChatGPT subscriptions through Codex.
const Codex = "codex"

// codexBuiltin declares Codex: its OAuth client below (one issuer moves
// every endpoint), the Codex CLI's auth.json to import, the x-codex-*
// quota family.
var codexBuiltin = builtin{
	name:        Codex,
	provider:    func(s Spec) *Provider { return newCodex(s.Issuer) },
	importer:    importCodex,
	quotaFamily: QuotaCodex,
	chatPath:    "/responses",
}

// Codex's constants, from the official client (openai/codex:
// codex-rs/login/src/server.rs and auth/manager.rs). Every endpoint hangs off the issuer,
// which [providers.codex] issuer moves as a whole.
const (
	codexIssuer   = "https://auth.openai.com"
	codexClientID = "app_EMoamEEZ73f0CkXaXp7hrann"
	// codexRedirect is the exact URI OpenAI registered for the Codex CLI;
	// 1457 is the only other port its allow-list accepts.
	codexRedirect     = "http://localhost:1455/auth/callback"
	codexFallbackPort = 1457
	codexAPIBase      = "https://chatgpt.com/backend-api/codex"
	// codexOriginator names this program honestly rather than posing as the
	// official CLI ("codex_cli_rs"); opencode sends its own name too.
	codexOriginator = "ccproxy-tui"
	// codexAuthClaim is the id_token claim namespace holding the ChatGPT
	// account, plan and user ids.
	codexAuthClaim    = "https://api.openai.com/auth"
	codexProfileClaim = "https://api.openai.com/profile"
	// codexUsageURL is what the Codex CLI's /status reads (PROVIDERS.md §7.3).
	codexUsageURL = "https://chatgpt.com/backend-api/wham/usage"
)

// codexScopes is the minimal set that CLIProxyAPI and opencode use; the
// official CLI adds api.connectors.read/invoke, which the proxy never needs.
var codexScopes = []string{"openid", "profile", "email", "offline_access"}

func newCodex(issuer string) *Provider {
	if issuer == "" {
		issuer = codexIssuer
	}
	issuer = strings.TrimRight(issuer, "/")
	p := &Provider{
		Name:        Codex,
		DisplayName: "Codex (ChatGPT)",
		Flows:       []auth.Flow{auth.FlowBrowser, auth.FlowDevice},
		APIBase:     codexAPIBase,
		apiFormat:   APIOpenAI,
		errorShape:  ErrorFormatOpenAI,
		env:         Env{Clients: openAIEnv.Clients, BaseURL: openAIEnv.BaseURL, APIKey: openAIEnv.APIKey, notes: codexEnvNotes},
		decorate:    decorateCodex,
		reroute:     codexReroute,
		Usage:       Usage{URL: codexUsageURL, Poll: true},
		OAuth: auth.Config{
			Provider:  Codex,
			ClientID:  codexClientID,
			AuthURL:   issuer + "/oauth/authorize",
			TokenURL:  issuer + "/oauth/token",
			DeviceURL: issuer + "/api/accounts/deviceauth/usercode",
			// The official CLI revokes tokens here (PROVIDERS.md §2.1).
			RevocationURL: issuer + "/oauth/revoke",
			RedirectURL:   codexRedirect,
			FallbackPorts: []int{codexFallbackPort},
			Scopes:        append([]string(nil), codexScopes...),
			AuthParams: map[string]string{
				"id_token_add_organizations": "true",
				"codex_cli_simplified_flow":  "true",
				"originator":                 codexOriginator,
			},
		},
	}
	d := &codexDevice{issuer: issuer}
	p.OAuth.Hooks = auth.Hooks{
		// The exchange is standard form-encoded OAuth: no hook.
		Refresh:  codexRefresh,
		Device:   d.hooks(),
		Complete: completeCodex,
	}
	return p
}

// decorateCodex names the ChatGPT account the token belongs to; the backend
// refuses requests without it.
func decorateCodex(h http.Header, c auth.Credentials) {
	if c.AccountID != "" {
		h.Set("ChatGPT-Account-Id", c.AccountID)
	}
}

// codexRefreshBody is the official client's refresh request: JSON, no scope.
type codexRefreshBody struct {
	ClientID     string `json:"client_id"`
	GrantType    string `json:"grant_type"`
	RefreshToken string `json:"refresh_token"`
}

func codexRefresh(ctx context.Context, cfg *auth.Config, cur auth.Credentials) (*oauth2.Token, error) {
	return cfg.PostToken(ctx, "refresh", codexRefreshBody{
		ClientID:     cfg.ClientID,
		GrantType:    "refresh_token",
		RefreshToken: cur.RefreshToken,
	})
}

// completeCodex reads account, plan and email from the id_token's
// https://api.openai.com/auth claims (falling back to the access token's,
// which carry the same namespace), and takes the expiry from the access
// token's exp when the response had no expires_in. A refresh response
// without an id_token keeps the previous identity.
func completeCodex(_ context.Context, _ *auth.Config, tok *oauth2.Token, c *auth.Credentials) error {
	if idt := stringValue(tok.Extra("id_token")); idt != "" {
		c.IDToken = idt
	}
	id := codexIdentityOf(c.IDToken, c.AccessToken)
	if id.AccountID != "" {
		c.AccountID = id.AccountID
	}
	if id.Email != "" {
		c.Email = id.Email
	}
	if id.Plan != "" {
		c.Plan = id.Plan
	}
	if id.UserID != "" {
		setExtra(c, "chatgpt_user_id", id.UserID)
	}
	if c.ExpiresAt.IsZero() {
		if exp := jwtExpiry(c.AccessToken); !exp.IsZero() {
			c.ExpiresAt = exp
		}
	}
	return nil
}

type codexIdentity struct {
	AccountID, Email, Plan, UserID string
}

// codexIdentityOf reads identity from the id_token, filling gaps from the
// access token's claims; opencode does the same, and also falls back to the
// first organization's id for the account.
func codexIdentityOf(idToken, accessToken string) codexIdentity {
	var id codexIdentity
	for _, raw := range []string{idToken, accessToken} {
		if raw == "" {
			continue
		}
		claims, err := jwtClaims(raw)
		if err != nil {
			continue
		}
		ns := objectField(claims[codexAuthClaim])
		fill := func(dst *string, v string) {
			if *dst == "" {
				*dst = v
			}
		}
		fill(&id.AccountID, stringField(ns, "chatgpt_account_id"))
		fill(&id.Plan, stringField(ns, "chatgpt_plan_type"))
		fill(&id.UserID, stringField(ns, "chatgpt_user_id"))
		fill(&id.UserID, stringField(ns, "user_id"))
		fill(&id.Email, stringField(claims, "email"))
		fill(&id.Email, stringField(objectField(claims[codexProfileClaim]), "email"))
		if orgs, ok := ns["organizations"].([]any); ok && len(orgs) > 0 {
			fill(&id.AccountID, stringField(objectField(orgs[0]), "id"))
		}
	}
	return id
}

// codexReroute sends the Codex CLI's backend calls beside the Codex API to
// where they live: with the CLI's chatgpt_base_url set to
// <proxy>/codex/backend-api, its /status reads
// /codex/backend-api/wham/usage, which goes to
// https://chatgpt.com/backend-api/wham/usage; /codex/wham/… goes there too,
// and the CLI's other style, /codex/api/codex/usage, reaches the same
// endpoint (openai/codex backend-client). Anything else keeps the base.
// Only a base ending in /codex (the built-in one, or a gateway shaped like
// it) has a parent to go to.
func codexReroute(base *url.URL, rest string) (*url.URL, string) {
	parent, ok := strings.CutSuffix(strings.TrimRight(base.Path, "/"), "/codex")
	if !ok {
		return base, rest
	}
	switch {
	case strings.HasPrefix(rest, "/backend-api/"):
		rest = strings.TrimPrefix(rest, "/backend-api")
	case strings.HasPrefix(rest, "/wham/"):
	case rest == "/api/codex/usage":
		rest = "/wham/usage"
	default:
		return base, rest
	}
	b := *base
	b.Path, b.RawPath = parent, ""
	return &b, rest
}

// codexEnvNotes is the Codex CLI's custom model provider pointing at the
// route, which `env` prints as comments so its output stays eval-able:
// the Codex CLI ignores OPENAI_BASE_URL.
func codexEnvNotes(url string) []string {
	return []string{
		"The Codex CLI ignores OPENAI_BASE_URL. Add to ~/.codex/config.toml:",
		"",
		`model_provider = "ccproxy"`,
		"# so that /status reads its limits through the proxy too:",
		fmt.Sprintf("chatgpt_base_url = %q", url+"/backend-api"),
		"",
		"[model_providers.ccproxy]",
		`name = "ccproxy-tui"`,
		fmt.Sprintf("base_url = %q", url),
		`env_key = "OPENAI_API_KEY"`,
		`wire_api = "responses"`,
		"",
		"or run it once with:",
		fmt.Sprintf(`codex -c model_provider=ccproxy -c chatgpt_base_url='"%s/backend-api"' -c 'model_providers.ccproxy={name="ccproxy-tui",base_url="%s",env_key="OPENAI_API_KEY",wire_api="responses"}'`, url, url),
	}
}

// The Codex CLI's auth.json (openai/codex storage.rs, VERIFIED).
type codexAuthFile struct {
	AuthMode string `json:"auth_mode"`
	Tokens   *struct {
		IDToken      string `json:"id_token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		AccountID    string `json:"account_id"`
	} `json:"tokens"`
	LastRefresh string `json:"last_refresh"`
}

func importCodex(env importEnv) (*ImportPlan, error) {
	dir := env.getenv("CODEX_HOME")
	if dir == "" {
		dir = filepath.Join(env.home, ".codex")
	}
	var f codexAuthFile
	path, err := readImportFile(Codex, &f, filepath.Join(dir, "auth.json"))
	if err != nil {
		return nil, err
	}
	t := f.Tokens
	if t == nil || t.AccessToken == "" {
		if f.AuthMode != "" && f.AuthMode != "chatgpt" {
			return nil, fmt.Errorf("import codex: %s holds an %s login, not a ChatGPT sign-in; nothing to import", path, f.AuthMode)
		}
		return nil, fmt.Errorf("import codex: %s has no ChatGPT tokens", path)
	}
	exp := jwtExpiry(t.AccessToken)
	if exp.IsZero() {
		return nil, fmt.Errorf("import codex: the access token in %s is not a JWT with an expiry; the file is not in the expected format", path)
	}
	id := codexIdentityOf(t.IDToken, t.AccessToken)
	if id.AccountID == "" {
		id.AccountID = t.AccountID
	}
	c := auth.Credentials{
		Version:      1,
		Provider:     Codex,
		AccessToken:  t.AccessToken,
		RefreshToken: t.RefreshToken,
		IDToken:      t.IDToken,
		TokenType:    "Bearer",
		ExpiresAt:    exp,
		AccountID:    id.AccountID,
		Email:        id.Email,
		Plan:         id.Plan,
		ObtainedAt:   env.now,
		Extra:        map[string]string{"imported_from": path},
	}
	if id.UserID != "" {
		c.Extra["chatgpt_user_id"] = id.UserID
	}
	if lr, err := time.Parse(time.RFC3339, f.LastRefresh); err == nil {
		c.LastRefresh = lr.UTC()
	}
	return &ImportPlan{Provider: Codex, Source: path, Credentials: c,
		Warning: rotationWarning("The Codex CLI", path, Codex) +
			" Codex refresh tokens are single-use, so this cannot be undone by copying the file back."}, nil
}
