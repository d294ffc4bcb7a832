package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// PostToken POSTs body to c.TokenURL and parses the answer exactly as the
// standard flows do. Provider hooks use it so they never re-implement token
// parsing or error classification.
//
// body is sent form-encoded when it is a url.Values and as JSON otherwise (a
// struct or map). The request asks for application/json. A success yields a
// token with AccessToken, RefreshToken, TokenType and Expiry (from
// expires_in, a number or a string, on c's clock), and every raw field
// (id_token, scope, account …) through Token.Extra. A failure is an *Error
// for op ("exchange", "refresh" …) classified like every other auth error:
// OAuth error codes (also Codex's {"error":{"code":…}} shape), 429 with
// Retry-After, 5xx, HTML or garbage bodies, network failures. Error messages
// never include the body or any secret from it.
func (c *Config) PostToken(ctx context.Context, op string, body any) (*oauth2.Token, error) {
	tok, err := c.postToken(ctx, body)
	if err != nil {
		return nil, c.classify(ctx, op, err, secretsOf(body)...)
	}
	return tok, nil
}

// postToken is PostToken without classification: the device poll needs the
// raw *endpointError to see authorization_pending and slow_down.
func (c *Config) postToken(ctx context.Context, body any) (*oauth2.Token, error) {
	a, err := c.do(ctx, Request{URL: c.TokenURL, Key: "token_url", Body: body})
	if err != nil {
		return nil, err
	}
	return parseToken(a)
}

// bodyKind says what a token endpoint's body looked like when it was not a
// usable token response.
type bodyKind int

const (
	bodyOAuth   bodyKind = iota // JSON or form, possibly with an OAuth error
	bodyHTML                    // a web page: wrong URL, captive portal, WAF
	bodyGarbage                 // neither JSON nor form
	bodyNoToken                 // well-formed success without access_token
)

// endpointError is a token endpoint's refusal reduced to what may be shown:
// status, OAuth error code and a description. It never holds the body.
type endpointError struct {
	Status      int
	Code        string
	Description string
	Body        bodyKind
	RetryAfter  time.Duration
}

func (e *endpointError) Error() string {
	var b strings.Builder
	switch e.Body {
	case bodyHTML:
		fmt.Fprintf(&b, "token endpoint answered HTTP %d with an HTML page instead of JSON", e.Status)
	case bodyGarbage:
		fmt.Fprintf(&b, "token endpoint answered HTTP %d with a body that is not JSON", e.Status)
	case bodyNoToken:
		fmt.Fprintf(&b, "token endpoint answered HTTP %d without an access_token", e.Status)
	default:
		fmt.Fprintf(&b, "token endpoint answered HTTP %d", e.Status)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	return b.String()
}

// parseTokenResponse is parseToken on an answer that arrived at now.
func parseTokenResponse(now time.Time, status int, h http.Header, body []byte) (*oauth2.Token, error) {
	return parseToken(&Answer{Status: status, Header: h, Body: body, at: now})
}

// parseToken turns a token endpoint's answer into a token, or into an
// *endpointError. Expiry is anchored on the answer's arrival.
func parseToken(a *Answer) (*oauth2.Token, error) {
	raw, err := parseAnswer(a)
	if err != nil {
		return nil, err
	}
	access, _ := raw["access_token"].(string)
	if access == "" {
		return nil, &endpointError{Status: a.Status, Body: bodyNoToken, RetryAfter: retryAfter(a.at, a.Header)}
	}
	tok := &oauth2.Token{AccessToken: access}
	tok.RefreshToken, _ = raw["refresh_token"].(string)
	tok.TokenType, _ = raw["token_type"].(string)
	if secs, ok := seconds(raw["expires_in"]); ok && secs > 0 {
		tok.ExpiresIn = secs
		tok.Expiry = a.at.Add(time.Duration(secs) * time.Second)
	}
	return tok.WithExtra(floatNumbers(raw)), nil
}

// parseAnswer reads any OAuth endpoint's body into its fields, or into an
// *endpointError when the status, an OAuth error code or the body's shape
// says the call failed. It accepts JSON (the default) and form-encoded
// bodies (GitHub without Accept, some older servers), like x/oauth2 does.
// JSON numbers stay json.Number, so seconds reads them exactly.
func parseAnswer(a *Answer) (map[string]any, error) {
	fail := &endpointError{Status: a.Status, RetryAfter: retryAfter(a.at, a.Header)}
	ok := a.OK()
	ct, _, _ := mime.ParseMediaType(a.Header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(a.Body)

	var raw map[string]any
	switch {
	case ct == "text/html" || ct == "application/xhtml+xml" || bytes.HasPrefix(trimmed, []byte("<")):
		fail.Body = bodyHTML
		return nil, fail
	case ct == "application/x-www-form-urlencoded" || (ct == "text/plain" && !bytes.HasPrefix(trimmed, []byte("{"))):
		vals, err := url.ParseQuery(string(trimmed))
		if err != nil || len(vals) == 0 {
			fail.Body = bodyGarbage
			return nil, fail
		}
		raw = make(map[string]any, len(vals))
		for k := range vals {
			raw[k] = vals.Get(k)
		}
	default:
		if len(trimmed) == 0 && !ok {
			// An empty error body still says something through its status.
			return nil, fail
		}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil || raw == nil || dec.More() {
			fail.Body = bodyGarbage
			return nil, fail
		}
	}

	fail.Code, fail.Description = oauthError(raw)
	if !ok || fail.Code != "" {
		return nil, fail
	}
	return raw, nil
}

// floatNumbers turns raw's json.Numbers into float64 the way encoding/json
// produces them: Token.Extra users would be surprised by json.Number.
func floatNumbers(raw map[string]any) map[string]any {
	for k, v := range raw {
		if n, isNum := v.(json.Number); isNum {
			if f, err := n.Float64(); err == nil {
				raw[k] = f
			} else {
				raw[k] = n.String()
			}
		}
	}
	return raw
}

// oauthError finds the OAuth error code and description in a parsed body:
// RFC 6749's "error" string, Codex's {"error":{"code","message"}} object, or
// a top-level "code".
func oauthError(raw map[string]any) (code, desc string) {
	switch e := raw["error"].(type) {
	case string:
		code = e
	case map[string]any:
		code, _ = e["code"].(string)
		if code == "" {
			code, _ = e["type"].(string)
		}
		desc, _ = e["message"].(string)
	}
	if code == "" {
		code, _ = raw["code"].(string)
	}
	if d, ok := raw["error_description"].(string); ok && d != "" {
		desc = d
	}
	if desc == "" && code != "" {
		desc, _ = raw["message"].(string)
	}
	return code, desc
}

// maxExpiresIn caps expires_in at about 68 years, as x/oauth2 does, so a
// huge value cannot overflow into a time in the past.
const maxExpiresIn = math.MaxInt32

// seconds reads a JSON number or numeric string as whole seconds, capped
// at maxExpiresIn.
func seconds(v any) (int64, bool) {
	n, ok := rawSeconds(v)
	return min(n, maxExpiresIn), ok
}

func rawSeconds(v any) (int64, bool) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = n.String()
	case float64:
		if n >= maxExpiresIn {
			return maxExpiresIn, true
		}
		return int64(n), true
	case string:
		s = strings.TrimSpace(n)
	default:
		return 0, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > -(1<<62) {
		return rawSeconds(min(f, maxExpiresIn))
	}
	return 0, false
}

// retryAfter reads Retry-After as seconds or an HTTP date, and Anthropic's
// Retry-After-Ms. Zero means none or unparseable.
func retryAfter(now time.Time, h http.Header) time.Duration {
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(ms), 10, 64); err == nil && n > 0 && n < 1<<40 {
			return time.Duration(n) * time.Millisecond
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > 1<<31 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// secretsOf lists the values in a request body that must never appear in an
// error message.
func secretsOf(body any) []string {
	var out []string
	switch b := body.(type) {
	case url.Values:
		for _, k := range secretFields {
			out = append(out, b.Get(k))
		}
	case map[string]string:
		for _, k := range secretFields {
			out = append(out, b[k])
		}
	case map[string]any:
		for _, k := range secretFields {
			if s, ok := b[k].(string); ok {
				out = append(out, s)
			}
		}
	default:
		// A struct: look at its JSON form.
		blob, err := json.Marshal(body)
		if err != nil {
			return nil
		}
		var m map[string]any
		if json.Unmarshal(blob, &m) == nil {
			return secretsOf(m)
		}
	}
	return out
}

var secretFields = []string{"code", "code_verifier", "refresh_token", "client_secret", "device_code", "device_auth_id", "access_token", "state"}
