package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// oauth2Config is c in x/oauth2's terms. Client credentials always travel in
// the body: x/oauth2's auto-detection would otherwise try twice on every
// failure, spending a single-use code on the first attempt.
func (c *Config) oauth2Config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:       c.AuthURL,
			TokenURL:      c.TokenURL,
			DeviceAuthURL: c.DeviceURL,
			AuthStyle:     oauth2.AuthStyleInParams,
		},
		RedirectURL: redirectURL,
		Scopes:      c.Scopes,
	}
}

// recorded keeps the last token-endpoint response x/oauth2 saw, so a failure
// is classified from the real status, headers and body (x/oauth2 reports a
// 200 with an HTML body only as a parse error string).
type recorded struct {
	status int
	header http.Header
	body   bytes.Buffer
}

type recordingTransport struct {
	base http.RoundTripper
	rec  *recorded
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.rec.status, t.rec.header = resp.StatusCode, resp.Header
	t.rec.body.Reset()
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, &limitWriter{w: &t.rec.body, n: maxTokenBody}), resp.Body}
	return resp, nil
}

type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		_, _ = l.w.Write(p[:k])
	}
	return len(p), nil
}

// oauth2Context hands x/oauth2 c's HTTP client wrapped in a recorder. The
// client's Timeout becomes a context deadline: x/oauth2's DeviceAuth never
// closes the response body, which would strand http.Client's timeout
// goroutine until the timeout fires. Call cancel when the call is done.
func (c *Config) oauth2Context(ctx context.Context) (_ context.Context, _ *recorded, cancel context.CancelFunc) {
	base := c.httpClient()
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	rec := &recorded{}
	client := &http.Client{
		Transport:     &recordingTransport{base: rt, rec: rec},
		CheckRedirect: c.refuseRedirect("token_url"),
		Jar:           base.Jar,
	}
	cancel = func() {}
	if base.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, base.Timeout)
	}
	return context.WithValue(ctx, oauth2.HTTPClient, client), rec, cancel
}

// RedirectError is a provider endpoint answering with a redirect. Token,
// device and revocation calls never follow one: a 307 would re-send the
// code, refresh token or client secret to wherever it points, and its answer
// would be stored as ours.
type RedirectError struct {
	// Target is where the endpoint pointed, without query or fragment.
	Target string
	// Key is the config key that sets the endpoint
	// ("providers.claude.token_url").
	Key string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("the endpoint redirected to %s; redirects are not followed, so nothing was sent there "+
		"(if the endpoint really moved, set %s to the new address)", e.Target, e.Key)
}

// refuseRedirect is a CheckRedirect that stops at the first redirect with a
// *RedirectError naming key.
func (c *Config) refuseRedirect(key string) func(*http.Request, []*http.Request) error {
	full := "providers." + c.Provider + "." + key
	return func(req *http.Request, _ []*http.Request) error {
		return &RedirectError{Target: redactURL(req.URL.String()), Key: full}
	}
}

// endpointClient is c's HTTP client with redirects refused (see
// RedirectError); key names the endpoint's config key in the error.
func (c *Config) endpointClient(key string) *http.Client {
	cl := *c.httpClient()
	cl.CheckRedirect = c.refuseRedirect(key)
	return &cl
}

// explain replaces an x/oauth2 error with what the recorded response shows.
func (c *Config) explain(err error, rec *recorded) error {
	var redirect *RedirectError
	if rec.status == 0 || errors.As(err, &redirect) {
		return err
	}
	if _, perr := parseTokenResponse(c.clock().Now(), rec.status, rec.header, rec.body.Bytes()); perr != nil {
		return perr
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return &endpointError{Status: rec.status, Code: re.ErrorCode}
	}
	return err
}

// exchange trades an authorization code for tokens: Hooks.Exchange when the
// provider has one, else x/oauth2's Exchange with the PKCE verifier.
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
	octx, rec, cancel := c.oauth2Context(ctx)
	defer cancel()
	tok, err := c.oauth2Config(x.RedirectURL).Exchange(octx, x.Code, oauth2.VerifierOption(x.Verifier))
	if err != nil {
		return nil, c.classify(ctx, "exchange", c.explain(err, rec), secrets...)
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
