package auth

import (
	"context"
	"errors"

	"golang.org/x/oauth2"
)

// Refresh renews cur with its refresh token and returns the new
// credentials: Hooks.Refresh when the provider has one, else RFC 6749
// §6's refresh grant. Rotation is honoured both ways: a response with a
// new refresh token replaces the old one, a response without one keeps it.
// Identity fields survive and Hooks.Complete may update them. LastRefresh
// and ObtainedAt are set to now. Errors are *Error; errors.Is(err,
// ErrLoginRequired) when the refresh token is gone for good.
func (c *Config) Refresh(ctx context.Context, cur Credentials) (Credentials, error) {
	if cur.RefreshToken == "" && c.Hooks.Refresh == nil {
		return Credentials{}, &Error{Provider: c.Provider, Op: "refresh", Kind: ErrLoginRequired,
			Err: errors.New("no refresh token is stored")}
	}
	tok, err := c.refreshToken(ctx, cur)
	if err != nil {
		return Credentials{}, err
	}
	now := c.clock().Now()
	next := cur
	next.Scopes = append([]string(nil), cur.Scopes...)
	if cur.Extra != nil {
		next.Extra = make(map[string]string, len(cur.Extra))
		for k, v := range cur.Extra {
			next.Extra[k] = v
		}
	}
	c.apply(&next, tok, now)
	next.ObtainedAt, next.LastRefresh = now, now
	next, err = c.complete(ctx, "refresh", tok, next)
	if err != nil {
		return Credentials{}, err
	}
	if err := SameAccount(c.Provider, cur, next); err != nil {
		return Credentials{}, err
	}
	return next, nil
}

func (c *Config) refreshToken(ctx context.Context, cur Credentials) (*oauth2.Token, error) {
	secrets := []string{cur.RefreshToken, cur.AccessToken}
	if c.Hooks.Refresh != nil {
		tok, err := c.Hooks.Refresh(ctx, c, cur)
		if err != nil {
			return nil, c.classify(ctx, "refresh", err, secrets...)
		}
		return tok, nil
	}
	if err := checkURL("token URL", c.TokenURL); err != nil {
		return nil, c.classify(ctx, "refresh", err)
	}
	tok, err := c.postToken(ctx, c.grantForm("refresh_token", "refresh_token", cur.RefreshToken))
	if err != nil {
		return nil, c.classify(ctx, "refresh", err, secrets...)
	}
	if tok.RefreshToken == "" {
		// No rotation: the grant goes on with the refresh token we hold.
		tok.RefreshToken = cur.RefreshToken
	}
	return tok, nil
}
