package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
)

// configError is a local misconfiguration found before any request: a bad
// URL, a flow the provider does not offer.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// checkURL rejects an endpoint that is not an absolute http(s) URL.
func checkURL(what, raw string) error {
	if raw == "" {
		return &configError{msg: what + " is not set"}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &configError{msg: fmt.Sprintf("%s %q is not an http(s) URL", what, raw)}
	}
	return nil
}

// Codes that mean the grant is gone for good: the user must log in again.
var loginRequiredCodes = map[string]bool{
	"invalid_grant":             true,
	"access_denied":             true,
	"expired_token":             true,
	"refresh_token_reused":      true,
	"refresh_token_expired":     true,
	"refresh_token_invalidated": true,
	"token_expired":             true,
	"token_revoked":             true,
	"invalid_token":             true,
	"state_mismatch":            true,
}

// Codes that say our client settings are wrong; retrying will not help.
var misconfiguredCodes = map[string]bool{
	"invalid_client":               true,
	"unauthorized_client":          true,
	"unsupported_grant_type":       true,
	"unsupported_response_type":    true,
	"invalid_scope":                true,
	"invalid_request":              true,
	"invalid_redirect_uri":         true,
	"redirect_uri_mismatch":        true,
	"incorrect_client_credentials": true,
}

// Codes that will go away by themselves.
var transientCodes = map[string]bool{
	"server_error":            true,
	"temporarily_unavailable": true,
	"rate_limit_exceeded":     true,
	"slow_down":               true,
}

// classify turns any failure of a token call into an *Error for op: our
// own client's, or x/oauth2's RetrieveError from a hook. The rules, in
// order:
//
//   - context cancelled → ErrCancelled; a deadline → ErrTransient.
//   - an OAuth error code decides when it is known (invalid_grant and the
//     refresh_token_* family → login required; invalid_client and other
//     request-shape codes → misconfigured; server_error → transient).
//   - 429, 408 and 5xx → transient, with Retry-After honoured.
//   - an HTML or garbage body on a 2xx or 4xx → misconfigured: the URL
//     points at something that is not a token endpoint (a web page, a
//     captive portal, a WAF challenge), and hammering it will not change
//     that. On a 5xx the same body is transient (a proxy's error page).
//   - a 2xx without access_token → misconfigured.
//   - other 400/401 with an unknown code → login required (the grant was
//     refused); other 4xx → misconfigured.
//   - network failures → transient; bad URLs → misconfigured.
//
// secrets are scrubbed from anything the server said before it is kept.
func (c *Config) classify(ctx context.Context, op string, err error, secrets ...string) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var oe *oauth2.RetrieveError
	if errors.As(err, &oe) {
		err = c.retrieveError(oe)
	}
	e := &Error{Provider: c.Provider, Op: op}
	var ee *endpointError
	var ce *configError
	var re *RedirectError
	switch {
	case errors.As(err, &re):
		e.Kind, e.Err, e.causeHints = ErrMisconfigured, re, true
	case errors.As(err, &ee):
		e.Code = cleanCode(ee.Code)
		e.RetryAfter = ee.RetryAfter
		clean := *ee
		clean.Code = e.Code
		clean.Description = scrub(ee.Description, secrets...)
		e.Err = &clean
		e.Kind = kindOf(ee)
	case errors.As(err, &ce):
		e.Kind, e.Err = ErrMisconfigured, ce
	case errors.Is(err, context.Canceled) || (ctx != nil && errors.Is(ctx.Err(), context.Canceled)):
		e.Kind, e.Err = ErrCancelled, errors.New("stopped before the provider answered")
		e.Hint = "run the login again when ready"
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind, e.Err = ErrTransient, errors.New("the provider did not answer in time")
	default:
		e.Kind, e.Err = networkKind(err), errors.New(scrub(describeNetErr(err), secrets...))
	}
	return e
}

// retrieveError reads x/oauth2's RetrieveError, from a hook that calls
// x/oauth2 itself, as the refusal its response shows: status, Retry-After
// and the OAuth error code, by the same parser as every other answer.
func (c *Config) retrieveError(oe *oauth2.RetrieveError) error {
	if oe.Response == nil {
		return &endpointError{Code: oe.ErrorCode, Description: oe.ErrorDescription}
	}
	a := &Answer{Status: oe.Response.StatusCode, Header: oe.Response.Header, Body: oe.Body, at: c.clock().Now()}
	if err := a.Refusal(); err != nil {
		return err
	}
	return &endpointError{Status: a.Status, Code: oe.ErrorCode, Description: oe.ErrorDescription}
}

func kindOf(ee *endpointError) error {
	switch {
	case loginRequiredCodes[ee.Code]:
		return ErrLoginRequired
	case misconfiguredCodes[ee.Code]:
		return ErrMisconfigured
	case transientCodes[ee.Code]:
		return ErrTransient
	case ee.Status == 429 || ee.Status == 408 || ee.Status >= 500:
		return ErrTransient
	case ee.Body == bodyHTML || ee.Body == bodyGarbage || ee.Body == bodyNoToken:
		return ErrMisconfigured
	case ee.Status == 400 || ee.Status == 401:
		if ee.Code != "" {
			return ErrLoginRequired
		}
		return ErrMisconfigured
	default:
		return ErrMisconfigured
	}
}

// networkKind tells a bad URL from a network that is down.
func networkKind(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		var ne net.Error
		var oe *net.OpError
		var de *net.DNSError
		if errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &de) {
			return ErrTransient
		}
		if strings.Contains(ue.Err.Error(), "unsupported protocol scheme") {
			return ErrMisconfigured
		}
	}
	return ErrTransient
}

// describeNetErr says what failed without the request body: url.Error
// carries only method, URL and cause.
func describeNetErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Sprintf("%s %s: %v", ue.Op, redactURL(ue.URL), ue.Err)
	}
	return err.Error()
}

// redactURL drops the query, which could carry a code.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(endpoint)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// maxServerText caps what a server's description may add to a message.
const maxServerText = 200

// maxCode caps an OAuth error code; real ones are a few words long.
const maxCode = 64

// scrub removes every secret from s, shows control characters and escape
// sequences escaped (termsafe.Line) and caps the length, so a server that
// echoes a token cannot leak it through us, nor drive the terminal.
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	s = strings.TrimSpace(s)
	if len(s) > maxServerText {
		s = strings.ToValidUTF8(s[:maxServerText], "") + "…"
	}
	return termsafe.Line(s)
}

// cleanCode is an OAuth error code as it may be shown and compared: a
// server's code is text like any other, so it is capped and escaped.
func cleanCode(code string) string {
	code = strings.TrimSpace(code)
	if len(code) > maxCode {
		code = strings.ToValidUTF8(code[:maxCode], "") + "…"
	}
	return termsafe.Line(code)
}
