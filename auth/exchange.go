package auth

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// oauth2Config is c in x/oauth2's terms, for what x/oauth2 does without
// HTTP: the authorize URL and its PKCE parameters. Every call to an endpoint
// goes through c.do instead (client.go).
func (c *Config) oauth2Config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:    c.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: c.AuthURL},
		RedirectURL: redirectURL,
		Scopes:      c.Scopes,
	}
}

// grantForm is an RFC 6749 token request: the grant's own fields plus the
// client credentials, which always travel in the body (a public client has
// no secret to send in a header, and trying both styles would spend a
// single-use code on the first attempt).
func (c *Config) grantForm(grant string, kv ...string) url.Values {
	form := url.Values{"grant_type": {grant}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			form.Set(kv[i], kv[i+1])
		}
	}
	if c.ClientID != "" {
		form.Set("client_id", c.ClientID)
	}
	if c.ClientSecret != "" {
		form.Set("client_secret", c.ClientSecret)
	}
	return form
}

// exchange trades an authorization code for tokens: Hooks.Exchange when the
// provider has one, else RFC 6749 §4.1.3 with the PKCE verifier.
func (c *Config) exchange(ctx context.Context, x CodeExchange) (*oauth2.Token, error) {
	secrets := []string{x.Code, x.Verifier, x.State}
	if err := checkURL("token URL", c.TokenURL); err != nil && c.Hooks.Exchange == nil {
		return nil, c.classify(ctx, "exchange", err)
	}
	if c.Hooks.Exchange != nil {
		tok, err := c.Hooks.Exchange(ctx, c, x)
		if err != nil {
			return nil, c.classify(ctx, "exchange", err, secrets...)
		}
		return tok, nil
	}
	tok, err := c.postToken(ctx, c.grantForm("authorization_code",
		"code", x.Code, "redirect_uri", x.RedirectURL, "code_verifier", x.Verifier))
	if err != nil {
		return nil, c.classify(ctx, "exchange", err, secrets...)
	}
	return tok, nil
}

// login finishes any login: credentials from tok, then Hooks.Complete.
func (c *Config) login(ctx context.Context, tok *oauth2.Token) (Credentials, error) {
	now := c.clock().Now()
	cr := Credentials{Version: 1, Provider: c.Provider, ObtainedAt: now}
	c.apply(&cr, tok, now)
	return c.complete(ctx, "login", tok, cr)
}

// apply copies a token response into cr: tokens present in tok replace
// cr's, absent ones keep cr's (a refresh without refresh_token keeps the
// old one).
func (c *Config) apply(cr *Credentials, tok *oauth2.Token, now time.Time) {
	cr.AccessToken = tok.AccessToken
	if tok.RefreshToken != "" {
		cr.RefreshToken = tok.RefreshToken
	}
	if id, _ := tok.Extra("id_token").(string); id != "" {
		cr.IDToken = id
	}
	if tok.TokenType != "" {
		cr.TokenType = tok.TokenType
	}
	cr.ExpiresAt = expiresAt(tok, now)
	if sc, _ := tok.Extra("scope").(string); strings.TrimSpace(sc) != "" {
		cr.Scopes = strings.FieldsFunc(sc, func(r rune) bool { return r == ' ' || r == ',' })
	} else if len(cr.Scopes) == 0 && len(c.Scopes) > 0 {
		cr.Scopes = append([]string(nil), c.Scopes...)
	}
}

// expiresAt reads expires_in on our clock (x/oauth2 computes Expiry from the
// wall clock); a hook that set only Expiry is believed; none means the token
// does not expire.
func expiresAt(tok *oauth2.Token, now time.Time) time.Time {
	if tok.ExpiresIn > 0 {
		return now.Add(time.Duration(min(tok.ExpiresIn, maxExpiresIn)) * time.Second)
	}
	if secs, ok := seconds(tok.Extra("expires_in")); ok && secs > 0 {
		return now.Add(time.Duration(secs) * time.Second)
	}
	return tok.Expiry
}

// complete runs Hooks.Complete and makes sure the result is usable.
func (c *Config) complete(ctx context.Context, op string, tok *oauth2.Token, cr Credentials) (Credentials, error) {
	if c.Hooks.Complete != nil {
		if err := c.Hooks.Complete(ctx, c, tok, &cr); err != nil {
			return Credentials{}, c.classify(ctx, op, err, tok.AccessToken, tok.RefreshToken)
		}
	}
	cr.Version, cr.Provider = 1, c.Provider
	if cr.AccessToken == "" {
		return Credentials{}, &Error{Provider: c.Provider, Op: op, Kind: ErrMisconfigured,
			Err: errors.New("the provider returned no access token")}
	}
	return cr, nil
}
