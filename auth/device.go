package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
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

// DeviceLogin runs a device-code login (RFC 8628): it asks for a user code
// with x/oauth2's DeviceAuth, calls show once with the code, the
// verification URI (and its _complete form) and the expiry, then polls the
// token endpoint every interval, adding 5 s on each slow_down, until the
// user approves, denies (access_denied) or the code expires
// (expired_token, or the expiry passes). Up to three transient failures in a
// row (5xx, 429 with its Retry-After, network) are ridden out. Hooks.Device replaces all of it for
// providers whose device flow is not RFC 8628.
//
// Polling runs on Config.Clock rather than x/oauth2's DeviceAccessToken,
// whose wall-clock ticker (whole seconds, +5 s per slow_down) cannot be
// driven by a fake clock; each poll still goes through the same token
// parsing and error classification as every other call.
func (c *Config) DeviceLogin(ctx context.Context, show func(DeviceCode)) (Credentials, error) {
	if show == nil {
		show = func(DeviceCode) {}
	}
	if c.Hooks.Device != nil {
		tok, err := c.Hooks.Device(ctx, c, show)
		if err != nil {
			return Credentials{}, c.classify(ctx, deviceLoginOperation, err)
		}
		return c.login(ctx, tok)
	}
	if c.DeviceURL == "" {
		return Credentials{}, &Error{Provider: c.Provider, Op: deviceLoginOperation, Kind: ErrMisconfigured,
			Err:  errors.New("this provider offers no device login"),
			Hint: "use the browser or paste login instead"}
	}
	for what, u := range map[string]string{"device URL": c.DeviceURL, "token URL": c.TokenURL} {
		if err := checkURL(what, u); err != nil {
			return Credentials{}, c.classify(ctx, deviceLoginOperation, err)
		}
	}

	octx, rec, cancel := c.oauth2Context(ctx)
	defer cancel()
	da, err := c.oauth2Config("").DeviceAuth(octx)
	if err != nil {
		return Credentials{}, c.classify(ctx, deviceLoginOperation, c.explain(err, rec))
	}
	if da.DeviceCode == "" || da.UserCode == "" {
		return Credentials{}, &Error{Provider: c.Provider, Op: deviceLoginOperation, Kind: ErrMisconfigured,
			Err: errors.New("the device endpoint answered without a device_code or user_code")}
	}
	clock := c.clock()
	dc := DeviceCode{
		UserCode:                da.UserCode,
		VerificationURI:         da.VerificationURI,
		VerificationURIComplete: da.VerificationURIComplete,
		Interval:                time.Duration(da.Interval) * time.Second,
	}
	if dc.Interval <= 0 {
		dc.Interval = defaultDeviceWait
	}
	if !da.Expiry.IsZero() {
		// x/oauth2 anchors Expiry on the wall clock; re-anchor on ours.
		dc.ExpiresAt = clock.Now().Add(time.Until(da.Expiry).Round(time.Second))
	}
	show(dc)

	form := url.Values{
		"grant_type":  {deviceGrant},
		"device_code": {da.DeviceCode},
		"client_id":   {c.ClientID},
	}
	if c.ClientSecret != "" {
		form.Set("client_secret", c.ClientSecret)
	}
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
		tok, err := c.postToken(ctx, form)
		if err == nil {
			return c.login(ctx, tok)
		}
		var ee *endpointError
		if errors.As(err, &ee) {
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
		e := c.classify(ctx, deviceLoginOperation, err, da.DeviceCode)
		// The user may be typing the code right now: ride out a short
		// outage of the token endpoint instead of throwing the login away.
		if errors.Is(e, ErrTransient) && failures < maxDevicePollFailures {
			failures++
			wait = max(interval, e.RetryAfter)
			continue
		}
		return Credentials{}, e
	}
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
		return nil
	}
}

func (c *Config) deviceExpired() *Error {
	return &Error{Provider: c.Provider, Op: deviceLoginOperation, Kind: ErrLoginRequired, Code: "expired_token",
		Err:  errors.New("the user code expired before it was approved"),
		Hint: "start again and enter the new code sooner: ccproxy-tui auth login " + c.Provider + " --device"}
}
