package auth

// client.go is the one HTTP client of the package: every call to a
// provider's OAuth endpoints — code exchange, refresh, device login,
// revocation and the calls provider hooks make — goes through Config.do,
// keeps the status, headers and body of the answer, and is parsed by
// token.go and classified by classify.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// maxTokenBody caps what is read from an endpoint, as x/oauth2 does.
const maxTokenBody = 1 << 20

// defaultHTTPClient is used when Config.HTTPClient is nil: no call to a
// provider may hang forever.
var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

func (c *Config) clock() clockwork.Clock {
	if c.Clock != nil {
		return c.Clock
	}
	return clockwork.NewRealClock()
}

func (c *Config) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return defaultHTTPClient
}

// Request is one call to a provider endpoint. Provider hooks describe their
// calls with it (Codex's device endpoints, Copilot's token exchange) so that
// auth alone talks HTTP.
type Request struct {
	// Method is POST when empty.
	Method string
	URL    string
	// Key is the endpoint's config key ("token_url"). When set, a redirect
	// is refused with a *RedirectError naming it; empty leaves redirects to
	// the HTTP client (for calls that send no secret in the body).
	Key string
	// Body is sent form-encoded when it is a url.Values, as JSON when it is
	// anything else, and not at all when nil.
	Body any
	// Header is added to the request; Accept is application/json unless
	// Header sets it.
	Header http.Header
}

// Answer is an endpoint's reply as read: status, every header (Retry-After
// is never dropped) and at most 1 MiB of body.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// at is when the answer arrived, on the config's clock; it anchors
	// Retry-After dates and expires_in.
	at time.Time
}

// At is when the answer arrived, on the config's clock: what a hook
// anchors an expiry or a refresh-in on.
func (a *Answer) At() time.Time { return a.at }

// OK says the endpoint answered with a 2xx status.
func (a *Answer) OK() bool { return a.Status >= 200 && a.Status <= 299 }

// Call makes r and returns the answer. A failure to get one (a bad URL, a
// refused redirect, the network) is an *Error for op; so is a non-2xx
// answer, classified like a token endpoint's (429 and 5xx temporary with
// the server's Retry-After, an OAuth error code read from the body). The
// answer is returned with that error so a caller can treat a status
// specially (Copilot's 401). When out is not nil, a 2xx body is decoded
// into it as JSON; a body that does not decode is a misconfiguration.
func (c *Config) Call(ctx context.Context, op string, r Request, out any) (*Answer, error) {
	a, err := c.do(ctx, r)
	if err != nil {
		return nil, c.classify(ctx, op, err, secretsOf(r.Body)...)
	}
	if !a.OK() {
		// A non-2xx answer is always a refusal to the parser.
		return a, c.classify(ctx, op, a.Refusal())
	}
	if out != nil {
		if err := a.Decode(out); err != nil {
			return a, c.classify(ctx, op, err)
		}
	}
	return a, nil
}

// Decode reads a's body as JSON into out. A body that is not the JSON out
// expects yields an error that classifies as a misconfiguration: the URL
// points at something that is not the endpoint.
func (a *Answer) Decode(out any) error {
	if err := json.Unmarshal(a.Body, out); err != nil {
		kind := bodyGarbage
		if trimmed := bytes.TrimSpace(a.Body); bytes.HasPrefix(trimmed, []byte("<")) {
			kind = bodyHTML
		}
		return &endpointError{Status: a.Status, Body: kind}
	}
	return nil
}

// Refusal reads a as a refusal, unclassified: the status, the OAuth error
// code, the server's Retry-After and the shape of the body (HTML, garbage).
// It is nil when a is a 2xx whose body parses without an error code. A
// DeviceHooks.Poll returns it so the poll loop sees slow_down and the
// other RFC 8628 answers the way it does for a standard poll.
func (a *Answer) Refusal() error {
	_, err := parseAnswer(a)
	return err
}

// do makes r and reads the answer, without classifying anything: the
// device poll needs the raw *endpointError of a parse to see
// authorization_pending and slow_down.
func (c *Config) do(ctx context.Context, r Request) (*Answer, error) {
	what := "endpoint URL"
	if r.Key != "" {
		what = strings.ReplaceAll(strings.TrimSuffix(r.Key, "_url"), "_", " ") + " URL"
	}
	if err := checkURL(what, r.URL); err != nil {
		return nil, err
	}
	var (
		payload     io.Reader
		contentType string
	)
	switch b := r.Body.(type) {
	case nil:
	case url.Values:
		payload, contentType = bytes.NewReader([]byte(b.Encode())), "application/x-www-form-urlencoded"
	default:
		blob, err := json.Marshal(b)
		if err != nil {
			return nil, &configError{msg: fmt.Sprintf("encode request: %v", err)}
		}
		payload, contentType = bytes.NewReader(blob), "application/json"
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, payload)
	if err != nil {
		return nil, &configError{msg: what + ": " + err.Error()}
	}
	for k, vs := range r.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	client := c.httpClient()
	if r.Key != "" {
		client = c.endpointClient(r.Key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, fmt.Errorf("read the answer of %s: %w", redactURL(r.URL), err)
	}
	return &Answer{Status: resp.StatusCode, Header: resp.Header, Body: raw, at: c.clock().Now()}, nil
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
