package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// BrowserLogin is a browser login in progress: the callback server is
// listening, and URL is ready to open or print.
type BrowserLogin struct {
	cfg    *Config
	auth   authorization
	port   int
	cb     *callbackServer
	stop   func() bool // unregisters the ctx watcher
	waitMu sync.Mutex  // serialises Wait calls
}

// StartBrowser binds the loopback callback now (so a busy port is reported
// before the user is sent anywhere) and prepares a PKCE S256 authorization
// with a fresh 256-bit state. The callback listens on 127.0.0.1 at the port
// and path of RedirectURL (0 = any free port; FallbackPorts when the fixed
// one is busy). A busy port yields an *Error wrapping ErrPortInUse.
// Cancelling ctx or calling Close frees the port at once.
func (c *Config) StartBrowser(ctx context.Context) (*BrowserLogin, error) {
	u, port, err := c.loopback()
	if err != nil {
		return nil, c.classify(ctx, "login", err)
	}
	if err := checkURL("token URL", c.TokenURL); err != nil && c.Hooks.Exchange == nil {
		return nil, c.classify(ctx, "login", err)
	}
	ln, err := listenLoopback(c.Provider, port, c.FallbackPorts)
	if err != nil {
		return nil, err
	}
	bound := ln.Addr().(*net.TCPAddr).Port
	redirect := withPort(u, bound)
	a, err := c.authorize(redirect)
	if err != nil {
		_ = ln.Close()
		return nil, c.classify(ctx, "login", err)
	}
	l := &BrowserLogin{cfg: c, auth: a, port: bound}
	l.cb = startCallback(c.Provider, ln, u.Path, a.state)
	l.stop = context.AfterFunc(ctx, l.cb.close)
	return l, nil
}

// URL is the authorize URL. Always show it, even when a browser opened.
func (l *BrowserLogin) URL() string { return l.auth.url }

// RedirectURL is the callback address actually bound, port resolved.
func (l *BrowserLogin) RedirectURL() string { return l.auth.redirectURL }

// Port is the callback's bound port.
func (l *BrowserLogin) Port() int { return l.port }

// Close stops the callback server and frees its port before returning. It
// is safe to call more than once and concurrently with Wait.
func (l *BrowserLogin) Close() error {
	l.stop()
	l.cb.close()
	return nil
}

// Wait blocks until the provider redirects back, then exchanges the code
// and returns complete credentials. It gives up with ErrCancelled when ctx
// ends, Close is called, or Config.LoginTimeout (default 5 minutes) passes;
// the port is freed in every case.
func (l *BrowserLogin) Wait(ctx context.Context) (Credentials, error) {
	l.waitMu.Lock()
	defer l.waitMu.Unlock()
	defer l.Close()
	c := l.cfg
	timeout := c.LoginTimeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	timer := c.clock().NewTimer(timeout)
	defer timer.Stop()

	var res callbackResult
	select {
	case res = <-l.cb.results:
	case <-ctx.Done():
		return Credentials{}, &Error{Provider: c.Provider, Op: "login", Kind: ErrCancelled,
			Err: fmt.Errorf("stopped while waiting for the browser: %w", ctx.Err()), Hint: "run the login again when ready"}
	case <-l.cb.served:
		// Closed from elsewhere; a result may have raced in just before.
		select {
		case res = <-l.cb.results:
		default:
			return Credentials{}, &Error{Provider: c.Provider, Op: "login", Kind: ErrCancelled,
				Err: errors.New("the login was closed before the browser came back"), Hint: "run the login again when ready"}
		}
	case <-timer.Chan():
		return Credentials{}, &Error{Provider: c.Provider, Op: "login", Kind: ErrCancelled,
			Err:  fmt.Errorf("no answer from the browser within %s", timeout),
			Hint: "run the login again, or use --paste or --device"}
	}
	// The browser has its page; nothing else may arrive on this port.
	l.Close()
	if res.err != nil {
		return Credentials{}, res.err
	}
	tok, err := c.exchange(ctx, CodeExchange{
		Code:        res.params.Code,
		Verifier:    l.auth.verifier,
		RedirectURL: l.auth.redirectURL,
		State:       l.auth.state,
	})
	if err != nil {
		return Credentials{}, err
	}
	return c.login(ctx, tok)
}
