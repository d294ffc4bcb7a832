package auth

// device.go is the device-code login (RFC 8628) and its one poll loop on the
// injected clock; DeviceHooks adapt it to device endpoints that are not
// RFC 8628 (Codex) without a second loop or HTTP client.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// RFC 8628 §3.4 grant type and the §3.5 poll answers.
const (
	deviceGrant          = "urn:ietf:params:oauth:grant-type:device_code"
	codePending          = "authorization_pending"
	codeSlowDown         = "slow_down"
	defaultDeviceWait    = 5 * time.Second
	slowDownIncrement    = 5 * time.Second
	deviceLoginOperation = "device login"
	// maxDevicePollFailures is how many transient poll failures in a row a
	// device login survives.
	maxDevicePollFailures = 3
)

// ErrDevicePending is what a DeviceHooks.Poll returns while the user has
// not approved yet: the loop waits one interval and polls again.
var ErrDevicePending = errors.New("authorization pending")

// DeviceHooks adapt the device login to a provider whose device endpoints
// are not RFC 8628 (Codex's deviceauth endpoints). auth still makes every
// call and runs the one poll loop; a hook only says what to send and how to
// read what came back. A nil hook means RFC 8628's own step.
type DeviceHooks struct {
	// Start is the request for a user code (RFC 8628 §3.1: client_id and
	// scope, form-encoded, to DeviceURL).
	Start func(cfg *Config) Request
	// Code reads Start's 2xx answer: what the user is shown, and the request
	// to poll with until they approve (RFC 8628 §3.2, then the device_code
	// grant on the token endpoint).
	Code func(cfg *Config, a *Answer) (DeviceCode, Request, error)
	// Poll reads one answer to the poll request, whatever its status: a
	// token once approved, ErrDevicePending while not, any other error to
	// end the login (or, when temporary, to be ridden out).
	Poll func(ctx context.Context, cfg *Config, a *Answer) (*oauth2.Token, error)
}

// offersDevice says whether c has a device login at all.
func (c *Config) offersDevice() bool { return c.DeviceURL != "" || c.Hooks.Device.Start != nil }

// DeviceLogin runs a device-code login (RFC 8628): it asks for a user code,
// calls show once with the code, the verification URI (and its _complete
// form) and the expiry, then polls every interval on Config.Clock, adding
// 5 s on each slow_down, until the user approves, denies (access_denied) or
// the code expires (expired_token, or the expiry passes). Up to three
// transient failures in a row (5xx, 429 waiting its Retry-After, network)
// are ridden out. Hooks.Device adapts the requests and answers for
// providers whose device endpoints are not RFC 8628.
func (c *Config) DeviceLogin(ctx context.Context, show func(DeviceCode)) (Credentials, error) {
	if show == nil {
		show = func(DeviceCode) {}
	}
	if !c.offersDevice() {
		return Credentials{}, &Error{Provider: c.Provider, Op: deviceLoginOperation, Kind: ErrMisconfigured,
			Err:  errors.New("this provider offers no device login"),
			Hint: "use the browser or paste login instead"}
	}
	h := c.deviceHooks()
	start := h.Start(c)
	for what, u := range map[string]string{"device URL": start.URL, "token URL": c.TokenURL} {
		if err := checkURL(what, u); err != nil {
			return Credentials{}, c.classify(ctx, deviceLoginOperation, err)
		}
	}
	a, err := c.Call(ctx, deviceLoginOperation, start, nil)
	if err != nil {
		return Credentials{}, err
	}
	dc, poll, err := h.Code(c, a)
	if err != nil {
		return Credentials{}, c.classify(ctx, deviceLoginOperation, err)
	}
	if dc.Interval <= 0 {
		dc.Interval = defaultDeviceWait
	}
	show(dc)

	clock := c.clock()
	secrets := secretsOf(poll.Body)
	interval, wait := dc.Interval, dc.Interval
	failures := 0
	for {
		if err := c.deviceWait(ctx, wait); err != nil {
			return Credentials{}, err
		}
		wait = interval
		if !dc.ExpiresAt.IsZero() && !clock.Now().Before(dc.ExpiresAt) {
			return Credentials{}, c.deviceExpired()
		}
		tok, err := c.devicePoll(ctx, h, poll)
		if err == nil {
			return c.login(ctx, tok)
		}
		if errors.Is(err, ErrDevicePending) {
			failures = 0
			continue
		}
		var (
			ae *Error
			ee *endpointError
		)
		if !errors.As(err, &ae) && errors.As(err, &ee) {
			switch ee.Code {
			case codePending:
				failures = 0
				continue
			case codeSlowDown:
				failures = 0
				interval += slowDownIncrement
				wait = interval
				continue
			case "expired_token":
				return Credentials{}, c.deviceExpired()
			case "access_denied":
				return Credentials{}, &Error{Provider: c.Provider, Op: deviceLoginOperation, Kind: ErrLoginRequired,
					Code: ee.Code, Err: errors.New("the request was denied on the verification page"),
					Hint: "approve it next time: ccproxy-tui auth login " + c.Provider + " --device"}
			}
		}
		e := c.classify(ctx, deviceLoginOperation, err, secrets...)
		// The user may be typing the code right now: ride out a short
		// outage of the endpoint instead of throwing the login away.
		if errors.Is(e, ErrTransient) && failures < maxDevicePollFailures {
			failures++
			wait = max(interval, e.RetryAfter)
			continue
		}
		return Credentials{}, e
	}
}

// devicePoll makes one poll and reads its answer.
func (c *Config) devicePoll(ctx context.Context, h DeviceHooks, poll Request) (*oauth2.Token, error) {
	a, err := c.do(ctx, poll)
	if err != nil {
		return nil, err
	}
	return h.Poll(ctx, c, a)
}

// deviceHooks is c's DeviceHooks with RFC 8628 in every unset step.
func (c *Config) deviceHooks() DeviceHooks {
	h := c.Hooks.Device
	if h.Start == nil {
		h.Start = (*Config).deviceStart
	}
	if h.Code == nil {
		h.Code = (*Config).deviceCode
	}
	if h.Poll == nil {
		h.Poll = func(_ context.Context, _ *Config, a *Answer) (*oauth2.Token, error) { return parseToken(a) }
	}
	return h
}

// deviceStart is RFC 8628 §3.1's device authorization request.
func (c *Config) deviceStart() Request {
	form := url.Values{"client_id": {c.ClientID}}
	if len(c.Scopes) > 0 {
		form.Set("scope", strings.Join(c.Scopes, " "))
	}
	return Request{URL: c.DeviceURL, Key: "device_url", Body: form}
}

// deviceCode reads RFC 8628 §3.2's answer (Google's verification_url
// spelling too, as x/oauth2 does) and builds the §3.4 poll.
func (c *Config) deviceCode(a *Answer) (DeviceCode, Request, error) {
	raw, err := parseAnswer(a)
	if err != nil {
		return DeviceCode{}, Request{}, err
	}
	str := func(k string) string { s, _ := raw[k].(string); return s }
	device := str("device_code")
	dc := DeviceCode{
		UserCode:                str("user_code"),
		VerificationURI:         str("verification_uri"),
		VerificationURIComplete: str("verification_uri_complete"),
	}
	if dc.VerificationURI == "" {
		dc.VerificationURI = str("verification_url")
	}
	if device == "" || dc.UserCode == "" {
		return DeviceCode{}, Request{}, &Error{Provider: c.Provider, Op: deviceLoginOperation, Kind: ErrMisconfigured,
			Err: errors.New("the device endpoint answered without a device_code or user_code")}
	}
	if secs, ok := seconds(raw["interval"]); ok && secs > 0 {
		dc.Interval = time.Duration(secs) * time.Second
	}
	if secs, ok := seconds(raw["expires_in"]); ok && secs > 0 {
		dc.ExpiresAt = a.at.Add(time.Duration(secs) * time.Second)
	}
	form := c.grantForm(deviceGrant, "device_code", device)
	return dc, Request{URL: c.TokenURL, Key: "token_url", Body: form}, nil
}

// deviceWait sleeps d on the injected clock, or returns ErrCancelled.
func (c *Config) deviceWait(ctx context.Context, d time.Duration) error {
	t := c.clock().NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return &Error{Provider: c.Provider, Op: deviceLoginOperation, Kind: ErrCancelled,
			Err: fmt.Errorf("stopped while waiting for approval: %w", ctx.Err()), Hint: "run the login again when ready"}
	case <-t.Chan():
	}
	return nil
}

func (c *Config) deviceExpired() *Error {
	return &Error{Provider: c.Provider, Op: deviceLoginOperation, Kind: ErrLoginRequired, Code: "expired_token",
		Err:  errors.New("the user code expired before it was approved"),
		Hint: "start again and enter the new code sooner: ccproxy-tui auth login " + c.Provider + " --device"}
}
