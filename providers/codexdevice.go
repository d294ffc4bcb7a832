package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/oauth2"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Codex's device login is not RFC 8628: OpenAI's own deviceauth endpoints
// hand out a user code, and once the user approves, the poll returns an
// authorization code plus the PKCE verifier that goes with it; the login
// ends in a normal code exchange (openai/codex device_code_auth.rs).
const (
	codexDeviceTimeout  = 15 * time.Minute
	codexDefaultPoll    = 5 * time.Second
	codexMaxDeviceReply = 1 << 20
)

type codexDevice struct{ issuer string }

// pollURL is the token poll beside the configured usercode endpoint.
func (d *codexDevice) pollURL(cfg *auth.Config) string {
	if base, ok := strings.CutSuffix(cfg.DeviceURL, "/usercode"); ok {
		return base + "/token"
	}
	return d.issuer + "/api/accounts/deviceauth/token"
}

type codexUserCode struct {
	DeviceAuthID string          `json:"device_auth_id"`
	UserCode     string          `json:"user_code"`
	UserCodeAlt  string          `json:"usercode"`
	Interval     json.RawMessage `json:"interval"`
}

type codexDeviceGrant struct {
	AuthorizationCode string `json:"authorization_code"`
	CodeVerifier      string `json:"code_verifier"`
}

func (d *codexDevice) login(ctx context.Context, cfg *auth.Config, show func(auth.DeviceCode)) (*oauth2.Token, error) {
	const op = "device login"
	clock := cfg.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	var uc codexUserCode
	status, err := postJSON(ctx, cfg, cfg.DeviceURL, map[string]string{"client_id": cfg.ClientID}, &uc)
	if err != nil {
		return nil, deviceError(ctx, cfg, op, status, err)
	}
	if uc.UserCode == "" {
		uc.UserCode = uc.UserCodeAlt
	}
	if uc.DeviceAuthID == "" || uc.UserCode == "" {
		return nil, &auth.Error{Provider: cfg.Provider, Op: op, Kind: auth.ErrMisconfigured,
			Err: errors.New("device code endpoint answered without device_auth_id or user_code")}
	}
	interval := parseInterval(uc.Interval)
	deadline := clock.Now().Add(codexDeviceTimeout)
	show(auth.DeviceCode{
		UserCode:        uc.UserCode,
		VerificationURI: d.issuer + "/codex/device",
		ExpiresAt:       deadline,
		Interval:        interval,
	})

	poll := d.pollURL(cfg)
	body := map[string]string{"device_auth_id": uc.DeviceAuthID, "user_code": uc.UserCode}
	for {
		timer := clock.NewTimer(interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, &auth.Error{Provider: cfg.Provider, Op: op, Kind: auth.ErrCancelled, Err: ctx.Err()}
		case <-timer.Chan():
		}
		var grant codexDeviceGrant
		status, err := postJSON(ctx, cfg, poll, body, &grant)
		switch {
		case status == http.StatusForbidden || status == http.StatusNotFound:
			// Not approved yet.
			if !clock.Now().Before(deadline) {
				return nil, &auth.Error{Provider: cfg.Provider, Op: op, Kind: auth.ErrLoginRequired,
					Code: "expired_token", Err: errors.New("the device code expired before it was approved")}
			}
			continue
		case err != nil:
			return nil, deviceError(ctx, cfg, op, status, err)
		}
		if grant.AuthorizationCode == "" || grant.CodeVerifier == "" {
			return nil, &auth.Error{Provider: cfg.Provider, Op: op, Kind: auth.ErrMisconfigured,
				Err: errors.New("device token endpoint answered without authorization_code or code_verifier")}
		}
		return cfg.PostToken(ctx, op, url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {grant.AuthorizationCode},
			"redirect_uri":  {d.issuer + "/deviceauth/callback"},
			"client_id":     {cfg.ClientID},
			"code_verifier": {grant.CodeVerifier},
		})
	}
}

// parseInterval reads the poll interval, which Codex sends as a string of
// seconds (a number is accepted too).
func parseInterval(raw json.RawMessage) time.Duration {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 60 {
		return codexDefaultPoll
	}
	return time.Duration(n) * time.Second
}

// postJSON POSTs body as JSON and decodes a 2xx answer into out. It returns
// the status so callers can treat some refusals as "not yet". Errors never
// carry the response body.
func postJSON(ctx context.Context, cfg *auth.Config, target string, body, out any) (int, error) {
	if _, err := parseHTTPURL(target); err != nil {
		return 0, &urlError{err}
	}
	blob, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(blob))
	if err != nil {
		return 0, &urlError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return doJSON(cfg, req, out)
}

// doJSON runs req and decodes a 2xx JSON answer into out.
func doJSON(cfg *auth.Config, req *http.Request, out any) (int, error) {
	client := cfg.HTTPClient
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, codexMaxDeviceReply))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, &answerError{status: resp.StatusCode, header: resp.Header, body: raw}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s answered HTTP %d with a body that is not the expected JSON", req.URL.Path, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// answerError is a refusal to be classified by auth's rules, with what
// they need: the status, the headers (Retry-After) and the body (an OAuth
// error code).
type answerError struct {
	status int
	header http.Header
	body   []byte
}

func (e *answerError) Error() string { return fmt.Sprintf("answered HTTP %d", e.status) }

type urlError struct{ err error }

func (e *urlError) Error() string { return e.err.Error() }

// deviceError classifies a failed call to a non-OAuth endpoint: a refusal
// by auth's own rules (429 and 5xx temporary with the server's
// Retry-After; 401/403 on a token fetch is handled by the caller), our own
// bad URL as a configuration problem, network failures as transient.
func deviceError(ctx context.Context, cfg *auth.Config, op string, status int, err error) error {
	var ae *answerError
	if errors.As(err, &ae) && ctx.Err() == nil {
		return cfg.AnswerError(ctx, op, ae.status, ae.header, ae.body)
	}
	kind := auth.ErrTransient
	var ue *urlError
	switch {
	case ctx.Err() != nil:
		kind = auth.ErrCancelled
	case errors.As(err, &ue):
		kind = auth.ErrMisconfigured
	case status == http.StatusTooManyRequests || status >= 500 || status == 0:
		kind = auth.ErrTransient
	case status >= 400 || (status >= 200 && status <= 299):
		// A refusal, or a success we cannot read: the endpoint or client
		// settings are wrong.
		kind = auth.ErrMisconfigured
	}
	return &auth.Error{Provider: cfg.Provider, Op: op, Kind: kind, Err: err}
}

// defaultClient is used when a provider has no HTTP client configured: no
// call to a provider may hang forever.
var defaultClient = &http.Client{Timeout: 30 * time.Second}
