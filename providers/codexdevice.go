package providers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Codex's device login is not RFC 8628: OpenAI's own deviceauth endpoints
// hand out a user code, and once the user approves, the poll returns an
// authorization code plus the PKCE verifier that goes with it; the login
// ends in a normal code exchange (openai/codex device_code_auth.rs). auth
// makes the calls and runs the poll loop; these hooks only say what to send
// and how to read the answers.
const (
	codexDeviceTimeout = 15 * time.Minute
	codexDefaultPoll   = 5 * time.Second
)

type codexDevice struct{ issuer string }

// hooks are the codex device login's steps for auth's poll loop.
func (d *codexDevice) hooks() auth.DeviceHooks {
	return auth.DeviceHooks{Start: d.start, Code: d.code, Poll: d.poll}
}

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

// start asks the usercode endpoint for a user code, as JSON.
func (d *codexDevice) start(cfg *auth.Config) auth.Request {
	return auth.Request{URL: cfg.DeviceURL, Key: "device_url", Body: map[string]string{"client_id": cfg.ClientID}}
}

// code reads the user code; the code lives 15 minutes (the answer does not
// say) and the poll sends it back with its device_auth_id.
func (d *codexDevice) code(cfg *auth.Config, a *auth.Answer) (auth.DeviceCode, auth.Request, error) {
	var uc codexUserCode
	if err := a.Decode(&uc); err != nil {
		return auth.DeviceCode{}, auth.Request{}, err
	}
	if uc.UserCode == "" {
		uc.UserCode = uc.UserCodeAlt
	}
	if uc.DeviceAuthID == "" || uc.UserCode == "" {
		return auth.DeviceCode{}, auth.Request{}, &auth.Error{Provider: cfg.Provider, Op: "device login", Kind: auth.ErrMisconfigured,
			Err: errors.New("device code endpoint answered without device_auth_id or user_code")}
	}
	dc := auth.DeviceCode{
		UserCode:        uc.UserCode,
		VerificationURI: d.issuer + "/codex/device",
		ExpiresAt:       a.At().Add(codexDeviceTimeout),
		Interval:        parseInterval(uc.Interval),
	}
	poll := auth.Request{URL: d.pollURL(cfg), Key: "device_url",
		Body: map[string]string{"device_auth_id": uc.DeviceAuthID, "user_code": uc.UserCode}}
	return dc, poll, nil
}

// poll reads one poll answer: 403 and 404 mean not approved yet; an
// approval carries the authorization code and verifier, exchanged at the
// token endpoint like a browser login's.
func (d *codexDevice) poll(ctx context.Context, cfg *auth.Config, a *auth.Answer) (*oauth2.Token, error) {
	const op = "device login"
	if a.Status == http.StatusForbidden || a.Status == http.StatusNotFound {
		return nil, auth.ErrDevicePending
	}
	if err := a.Refusal(); err != nil {
		return nil, err
	}
	var grant codexDeviceGrant
	if err := a.Decode(&grant); err != nil {
		return nil, err
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
