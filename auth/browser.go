package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// contextDone is a context cancelled when done closes (or cancel is
// called).
func contextDone(done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

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
// with a fresh 256-bit state. The callback listens at the port and path of
// RedirectURL (0 = any free port; FallbackPorts when the fixed one is busy)
// on the address its host names: 127.0.0.1, [::1], or both for localhost.
// A port another program holds yields an *Error wrapping ErrPortInUse; the
// redirect is never kept pointing at it.
// Cancelling ctx or calling Close frees the port at once.
func (c *Config) StartBrowser(ctx context.Context) (*BrowserLogin, error) {
	u, port, err := c.loopback()
	if err != nil {
		return nil, c.classify(ctx, "login", err)
	}
	if err := checkURL("token URL", c.TokenURL); err != nil && c.Hooks.Exchange == nil {
		return nil, c.classify(ctx, "login", err)
	}
	lns, err := c.listenLoopback(u.Hostname(), port, c.FallbackPorts)
	if err != nil {
		return nil, err
	}
	bound := lns[0].Addr().(*net.TCPAddr).Port
	redirect := withPort(u, bound)
	a, err := c.authorize(redirect)
	if err != nil {
		for _, ln := range lns {
			_ = ln.Close()
		}
		return nil, c.classify(ctx, "login", err)
	}
	l := &BrowserLogin{cfg: c, auth: a, port: bound}
	l.cb = c.startCallback(lns, u.Path, a.state)
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

// Wait blocks until the provider redirects back with this login's state,
// then exchanges the code and returns complete credentials. Callbacks with
// another state are answered and ignored. It gives up with ErrCancelled
// when ctx ends, Close is called, or Config.LoginTimeout (default 5
// minutes) passes; the port is freed in every case.
func (l *BrowserLogin) Wait(ctx context.Context) (Credentials, error) {
	return l.WaitSave(ctx, nil)
}

// WaitSave is Wait that also runs save (storing the credentials) before the
// browser is told how the login ended: its page says "Logged in" only once
// the exchange and the save succeeded, and shows the failure otherwise.
func (l *BrowserLogin) WaitSave(ctx context.Context, save func(context.Context, Credentials) error) (Credentials, error) {
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
			Hint: "run the login again"}
	}
	// The login is decided: nothing else may arrive on this port, but the
	// browser waits for its page until the outcome is known.
	l.cb.stopAccepting()
	cr, err := l.finishLogin(ctx, res, save)
	res.outcome <- err
	l.cb.finish()
	return cr, err
}

func (l *BrowserLogin) finishLogin(ctx context.Context, res callbackResult, save func(context.Context, Credentials) error) (Credentials, error) {
	if res.err != nil {
		return Credentials{}, res.err
	}
	c := l.cfg
	tok, err := c.exchange(ctx, CodeExchange{
		Code:        res.params.Code,
		Verifier:    l.auth.verifier,
		RedirectURL: l.auth.redirectURL,
		State:       l.auth.state,
	})
	if err != nil {
		return Credentials{}, err
	}
	cr, err := c.login(ctx, tok)
	if err != nil {
		return Credentials{}, err
	}
	if save != nil {
		if err := save(ctx, cr); err != nil {
			return Credentials{}, err
		}
	}
	return cr, nil
}
