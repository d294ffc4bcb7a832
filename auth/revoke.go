package auth

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// revokeTimeout bounds the revocation call of a logout: the local
// credentials are deleted whatever the server does, so a server that hangs
// must not hold the logout up for long.
const revokeTimeout = 15 * time.Second

// Revocation says what a logout did at the provider, beside deleting the
// local credentials.
type Revocation struct {
	// Endpoint is the revocation endpoint used; empty when the provider has
	// none (or nothing was stored to revoke).
	Endpoint string
	// Revoked is set when the endpoint confirmed the revocation.
	Revoked bool
	// Err is why the revocation failed; the logout went on regardless.
	Err error
}

// String says which of the outcomes happened, for the CLI and the log.
func (r Revocation) String() string {
	switch {
	case r.Revoked:
		return "the refresh token was revoked at " + hostOf(r.Endpoint)
	case r.Err != nil:
		return "revoking the refresh token failed (" + r.Err.Error() + "); it stays valid at the provider until it expires"
	case r.Endpoint == "":
		return "the provider has no revocation endpoint, so the refresh token stays valid there until it expires"
	}
	return "nothing was revoked"
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "the provider"
}

// Revoke asks the provider to revoke cr's refresh token (its access token
// when it has none) at RevocationURL, RFC 7009: a form POST of token,
// token_type_hint and the client credentials; 200 means revoked. Without a
// RevocationURL it returns an empty Revocation. Redirects are not followed.
func (c *Config) Revoke(ctx context.Context, cr Credentials) Revocation {
	rev := Revocation{Endpoint: c.RevocationURL}
	if c.RevocationURL == "" {
		return rev
	}
	token, hint := cr.RefreshToken, "refresh_token"
	if token == "" {
		token, hint = cr.AccessToken, "access_token"
	}
	if token == "" {
		return Revocation{}
	}
	if err := checkURL("revocation URL", c.RevocationURL); err != nil {
		rev.Err = c.classify(ctx, "revoke", err)
		return rev
	}
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {hint}, "client_id": {c.ClientID}}
	if c.ClientSecret != "" {
		form.Set("client_secret", c.ClientSecret)
	}
	secrets := []string{token, c.ClientSecret}
	a, err := c.do(ctx, Request{URL: c.RevocationURL, Key: "revocation_url", Body: form})
	if err != nil {
		rev.Err = c.classify(ctx, "revoke", err, secrets...)
		return rev
	}
	if a.Status == http.StatusOK {
		rev.Revoked = true
		return rev
	}
	_, perr := parseAnswer(a)
	if perr == nil {
		perr = &endpointError{Status: a.Status}
	}
	rev.Err = c.classify(ctx, "revoke", perr, secrets...)
	return rev
}

// LogoutRevoking is Logout that first hands the stored credentials to
// revoke (under the store's lock, so no refresh rotates them meanwhile),
// then deletes them locally whatever revoke reports, and announces which
// happened. Nothing stored means nothing to revoke.
func (m *Manager) LogoutRevoking(ctx context.Context, revoke func(context.Context, Credentials) Revocation) (Revocation, error) {
	var rev Revocation
	if revoke != nil {
		unlock, err := m.store.Lock(ctx, m.provider)
		if err != nil {
			return rev, m.storeError("logout", err)
		}
		if cur, err := m.load(ctx); err == nil {
			rev = revoke(ctx, cur)
		}
		unlock()
	}
	if err := m.Logout(ctx); err != nil {
		return rev, err
	}
	if rev.Endpoint != "" {
		e := Event{Kind: Revoked, Message: rev.String()}
		if rev.Err != nil {
			e.Err = rev.Err
			e.Message = "revoking the refresh token failed; it stays valid at the provider until it expires"
		}
		m.publish(e)
	}
	return rev, nil
}
