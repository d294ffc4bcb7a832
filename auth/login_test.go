package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/jonboulle/clockwork"
	"golang.org/x/oauth2"
)

var t0 = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)

const testClient = "ccproxy-test"

// fixture is a fake provider and a Config pointing at it.
type fixture struct {
	srv   *fake.OAuthServer
	clock *clockwork.FakeClock
	cfg   *Config
}

func newFixture(t *testing.T, opts ...fake.Option) *fixture {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	srv := fake.NewOAuthServer(append([]fake.Option{fake.WithClock(clock), fake.WithClientID(testClient)}, opts...)...)
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	return &fixture{srv: srv, clock: clock, cfg: &Config{
		Provider:   "demo",
		ClientID:   testClient,
		AuthURL:    srv.AuthURL(),
		TokenURL:   srv.TokenURL(),
		DeviceURL:  srv.DeviceURL(),
		Scopes:     []string{"openid", "email"},
		HTTPClient: client,
		Clock:      clock,
	}}
}

// browse plays the browser: it follows the authorize URL's redirects to
// the callback and returns the final page.
func browse(t *testing.T, rawURL string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(rawURL)
	if err != nil {
		t.Fatalf("browser GET: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitAsync runs l.Wait in the background, as the CLI does while the user
// is in the browser (the callback page waits for the login's outcome), and
// returns the func that collects its result.
func waitAsync(ctx context.Context, l *BrowserLogin) func() (Credentials, error) {
	type result struct {
		c   Credentials
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Wait(ctx)
		ch <- result{c, err}
	}()
	return func() (Credentials, error) {
		r := <-ch
		return r.c, r.err
	}
}

// authorizeCode gets a code for a login URL without following the redirect
// to the callback, as a user reading the address bar would.
func authorizeCode(t *testing.T, loginURL string) (code, state, redirect string) {
	t.Helper()
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(loginURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize redirect %q carries no code", resp.Header.Get("Location"))
	}
	return loc.Query().Get("code"), loc.Query().Get("state"), loc.String()
}

// assertClean fails if err's message shows any secret.
func assertClean(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error() + fmt.Sprintf(" %v %+v", err, err)
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error message %q reveals a secret", msg)
		}
	}
}

func wantKind(t *testing.T, err, kind error) *Error {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %q has kind %v, want %v", err, ae.Kind, kind)
	}
	if !strings.Contains(err.Error(), "demo") {
		t.Errorf("error %q does not name the provider", err)
	}
	return ae
}

// portFree reports whether 127.0.0.1:port can be bound right now.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func TestBrowserLoginEndToEnd(t *testing.T) {
	f := newFixture(t, fake.WithIdentity("sub-42", "ada@example.com"))
	var completed bool
	f.cfg.Hooks.Complete = func(_ context.Context, _ *Config, tok *oauth2.Token, c *Credentials) error {
		completed = true
		c.Email = "from-hook@example.com"
		if c.IDToken == "" {
			t.Error("Complete saw no id_token")
		}
		return nil
	}
	f.cfg.AuthParams = map[string]string{"code": "true", "originator": "ccproxy"}
	ctx := context.Background()
	l, err := f.cfg.StartBrowser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(l.URL())
	q := u.Query()
	for k, want := range map[string]string{
		"client_id": testClient, "response_type": "code", "code_challenge_method": "S256",
		"redirect_uri": l.RedirectURL(), "scope": "openid email", "code": "true", "originator": "ccproxy",
	} {
		if q.Get(k) != want {
			t.Errorf("authorize URL %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if st := q.Get("state"); len(st) < 22 { // 128 bits base64url
		t.Errorf("state %q is shorter than 128 bits", st)
	}
	if !strings.HasPrefix(l.RedirectURL(), "http://127.0.0.1:"+strconv.Itoa(l.Port())+"/callback") {
		t.Errorf("redirect %q does not carry the bound port %d", l.RedirectURL(), l.Port())
	}

	wait := waitAsync(ctx, l)
	status, page := browse(t, l.URL())
	if status != http.StatusOK || !strings.Contains(page, "Logged in") || strings.Contains(page, "http") {
		t.Errorf("browser page = %d %q, want a self-contained success page", status, page)
	}
	c, err := wait()
	if err != nil {
		t.Fatal(err)
	}
	if !completed {
		t.Error("Hooks.Complete was not called")
	}
	if c.Version != 1 || c.Provider != "demo" || !strings.HasPrefix(c.AccessToken, "fake-at-") ||
		c.RefreshToken != f.srv.LastRefreshToken() || c.TokenType != "Bearer" || c.IDToken == "" {
		t.Errorf("credentials incomplete: %+v", c)
	}
	if !c.ExpiresAt.Equal(t0.Add(time.Hour)) || !c.ObtainedAt.Equal(t0) {
		t.Errorf("ExpiresAt %v ObtainedAt %v, want %v and %v", c.ExpiresAt, c.ObtainedAt, t0.Add(time.Hour), t0)
	}
	if strings.Join(c.Scopes, " ") != "openid email" || c.Email != "from-hook@example.com" {
		t.Errorf("scopes %v email %q", c.Scopes, c.Email)
	}
	if !portFree(l.Port()) {
		t.Errorf("port %d still bound after Wait", l.Port())
	}
	if n := f.srv.Counts().Exchange; n != 1 {
		t.Errorf("exchanges = %d, want 1", n)
	}
}

func TestBrowserLoginStrayRequestsDoNotComplete(t *testing.T) {
	f := newFixture(t)
	l, err := f.cfg.StartBrowser(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	base := "http://127.0.0.1:" + strconv.Itoa(l.Port())
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"favicon", "/favicon.ico", http.StatusNotFound},
		{"root", "/", http.StatusNotFound},
		{"callback without code", "/callback", http.StatusBadRequest},
		{"callback with blank code", "/callback?code=%20&state=x", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, _ := browse(t, base+tc.path); st != tc.status {
				t.Errorf("GET %s = %d, want %d", tc.path, st, tc.status)
			}
		})
	}
	wait := waitAsync(context.Background(), l)
	if st, _ := browse(t, l.URL()); st != http.StatusOK {
		t.Fatalf("real callback = %d", st)
	}
	if _, err := wait(); err != nil {
		t.Fatalf("login after stray requests: %v", err)
	}
	// The login is decided and its port closed: a replay reaches nothing.
	code, state, _ := authorizeCode(t, l.URL())
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get(l.RedirectURL() + "?code=" + code + "&state=" + state); err == nil {
		resp.Body.Close()
		t.Errorf("a replayed callback was answered (%d) after the login ended", resp.StatusCode)
	}
}

func TestBrowserLoginRejects(t *testing.T) {
	tests := []struct {
		name     string
		opts     []fake.Option
		callback func(l *BrowserLogin) string // "" = follow the real authorize URL
		kind     error
		code     string
		mention  string
	}{
		{
			name: "provider denied",
			opts: []fake.Option{fake.WithAuthorizeError("access_denied", "The user said no")},
			kind: ErrLoginRequired, code: "access_denied", mention: "The user said no",
		},
		{
			name: "provider rejects scope",
			opts: []fake.Option{fake.WithAuthorizeError("invalid_scope", "unknown scope foo")},
			kind: ErrMisconfigured, code: "invalid_scope", mention: "unknown scope foo",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts...)
			l, err := f.cfg.StartBrowser(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			target := l.URL()
			if tc.callback != nil {
				target = tc.callback(l)
			}
			wait := waitAsync(context.Background(), l)
			status, page := browse(t, target)
			if !strings.Contains(page, "Login failed") {
				t.Errorf("browser page %d %q does not say the login failed", status, page)
			}
			_, err = wait()
			ae := wantKind(t, err, tc.kind)
			if ae.Code != tc.code || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q (code %q), want code %q mentioning %q", err, ae.Code, tc.code, tc.mention)
			}
			assertClean(t, err, "stolen-code-123")
			if n := f.srv.Counts().Token; n != 0 {
				t.Errorf("token endpoint called %d times; the code must never be exchanged", n)
			}
		})
	}
}

func TestBrowserLoginPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	t.Run("no fallback", func(t *testing.T) {
		f := newFixture(t)
		f.cfg.RedirectURL = fmt.Sprintf("http://localhost:%d/auth/callback", busyPort)
		_, err := f.cfg.StartBrowser(context.Background())
		if !errors.Is(err, ErrPortInUse) {
			t.Fatalf("err = %v, want ErrPortInUse", err)
		}
		wantKind(t, err, ErrTransient)
		// Without a hosted code page, a paste login would redirect to the
		// same busy port: only the device flow is offered.
		if !strings.Contains(err.Error(), strconv.Itoa(busyPort)) || !strings.Contains(err.Error(), "--device") ||
			strings.Contains(err.Error(), "--paste") {
			t.Errorf("message %q should name the port and the device login, not a paste login", err)
		}
	})
	t.Run("fallback port", func(t *testing.T) {
		f := newFixture(t)
		spare, _ := net.Listen("tcp", "127.0.0.1:0")
		sparePort := spare.Addr().(*net.TCPAddr).Port
		spare.Close()
		f.cfg.RedirectURL = fmt.Sprintf("http://localhost:%d/auth/callback", busyPort)
		f.cfg.FallbackPorts = []int{sparePort}
		l, err := f.cfg.StartBrowser(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if l.Port() != sparePort || l.RedirectURL() != fmt.Sprintf("http://localhost:%d/auth/callback", sparePort) {
			t.Errorf("bound %d %q, want the fallback %d on localhost", l.Port(), l.RedirectURL(), sparePort)
		}
		// The provider redirects to localhost; the callback answers there.
		wait := waitAsync(context.Background(), l)
		browse(t, l.URL())
		if _, err := wait(); err != nil {
			t.Fatalf("login on fallback port: %v", err)
		}
	})
}

func TestBrowserLoginCancelFreesPort(t *testing.T) {
	for _, how := range []string{"context", "close"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t)
			// A fixed port, so "bindable again" means the same port.
			probe, _ := net.Listen("tcp", "127.0.0.1:0")
			port := probe.Addr().(*net.TCPAddr).Port
			probe.Close()
			f.cfg.RedirectURL = fmt.Sprintf("http://127.0.0.1:%d/cb", port)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			l, err := f.cfg.StartBrowser(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if portFree(port) {
				t.Fatal("callback port is not bound")
			}
			done := make(chan error, 1)
			go func() {
				_, err := l.Wait(context.Background())
				done <- err
			}()
			if how == "context" {
				cancel()
			} else {
				l.Close()
			}
			err = <-done
			wantKind(t, err, ErrCancelled)
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatalf("port %d not bindable right after cancel: %v", port, err)
			}
			ln.Close()
		})
	}
}

func TestBrowserLoginWaitCancelAndTimeout(t *testing.T) {
	t.Run("wait context", func(t *testing.T) {
		f := newFixture(t)
		l, err := f.cfg.StartBrowser(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = l.Wait(ctx)
		wantKind(t, err, ErrCancelled)
		if !portFree(l.Port()) {
			t.Error("port still bound after Wait was cancelled")
		}
	})
	t.Run("default timeout", func(t *testing.T) {
		f := newFixture(t)
		l, err := f.cfg.StartBrowser(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := l.Wait(context.Background())
			done <- err
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(DefaultLoginTimeout - time.Second)
		select {
		case err := <-done:
			t.Fatalf("Wait returned before the timeout: %v", err)
		default:
		}
		f.clock.Advance(time.Second)
		err = <-done
		wantKind(t, err, ErrCancelled)
		if !strings.Contains(err.Error(), "5m0s") {
			t.Errorf("timeout message %q should say how long it waited", err)
		}
	})
}

func TestTokenEndpointFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      fake.Fault
		kind       error
		mention    string
		retryAfter time.Duration
		hidden     string // body text that must not reach the message
	}{
		{"html page", fake.FaultHTML(), ErrMisconfigured, "HTML page", 0, "Wi-Fi"},
		{"garbage json", fake.FaultGarbage(), ErrMisconfigured, "not JSON", 0, "trunc"},
		{"server error", fake.FaultServerError(), ErrTransient, "HTTP 500", 0, "internal error"},
		{"rate limited seconds", fake.FaultRateLimited("7"), ErrTransient, "wait 7s", 7 * time.Second, ""},
		{"rate limited date", fake.FaultRateLimited(t0.Add(90 * time.Second).Format(http.TimeFormat)),
			ErrTransient, "HTTP 429", 90 * time.Second, ""},
	}
	flows := map[string]func(f *fixture) error{
		"browser exchange": func(f *fixture) error {
			l, err := f.cfg.StartBrowser(context.Background())
			if err != nil {
				return err
			}
			wait := waitAsync(context.Background(), l)
			browse(t, l.URL())
			_, err = wait()
			return err
		},
		"refresh": func(f *fixture) error {
			rt := f.srv.IssueRefreshToken(testClient, "openid")
			_, err := f.cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: rt})
			return err
		},
		"json hook via PostToken": func(f *fixture) error {
			rt := f.srv.IssueRefreshToken(testClient, "openid")
			f.cfg.Hooks.Refresh = jsonRefreshHook
			_, err := f.cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: rt})
			return err
		},
	}
	for flowName, run := range flows {
		for _, tc := range tests {
			t.Run(flowName+"/"+tc.name, func(t *testing.T) {
				f := newFixture(t)
				f.srv.InjectTokenFault(tc.fault, 1)
				err := run(f)
				ae := wantKind(t, err, tc.kind)
				if !strings.Contains(err.Error(), tc.mention) {
					t.Errorf("message %q should mention %q", err, tc.mention)
				}
				if ae.RetryAfter != tc.retryAfter {
					t.Errorf("RetryAfter = %v, want %v", ae.RetryAfter, tc.retryAfter)
				}
				if tc.hidden != "" {
					assertClean(t, err, tc.hidden)
				}
				assertClean(t, err, f.srv.LastRefreshToken())
			})
		}
	}
}

// jsonRefreshHook is what a provider with a JSON token endpoint writes.
func jsonRefreshHook(ctx context.Context, cfg *Config, cur Credentials) (*oauth2.Token, error) {
	return cfg.PostToken(ctx, "refresh", map[string]string{
		"grant_type": "refresh_token", "refresh_token": cur.RefreshToken, "client_id": cfg.ClientID,
	})
}

func TestPasteLogin(t *testing.T) {
	tests := []struct {
		name   string
		paste  func(code, state, redirect string) string
		hosted bool
	}{
		{"bare code", func(code, _, _ string) string { return code }, false},
		{"code#state", func(code, state, _ string) string { return code + "#" + state }, true},
		{"whole redirect URL", func(_, _, redirect string) string { return redirect }, false},
		{"quoted with spaces", func(code, state, _ string) string { return "  \"" + code + "#" + state + "\"\n" }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.hosted {
				f.cfg.PasteRedirectURL = "https://provider.invalid/oauth/code/callback"
			}
			p, err := f.cfg.StartPaste(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(p.URL())
			redirect := u.Query().Get("redirect_uri")
			if tc.hosted && redirect != f.cfg.PasteRedirectURL {
				t.Errorf("redirect_uri %q, want the hosted page", redirect)
			}
			if !tc.hosted && (!strings.HasPrefix(redirect, "http://127.0.0.1:") || strings.HasPrefix(redirect, "http://127.0.0.1:0/")) {
				t.Errorf("redirect_uri %q, want loopback with a real port", redirect)
			}
			code, state, loc := authorizeCode(t, p.URL())
			c, err := p.Complete(context.Background(), tc.paste(code, state, loc))
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessToken == "" || c.Provider != "demo" || !c.ExpiresAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("credentials incomplete: %v", c)
			}
		})
	}
}

func TestPasteLoginRejects(t *testing.T) {
	t.Run("wrong state", func(t *testing.T) {
		f := newFixture(t)
		p, _ := f.cfg.StartPaste(context.Background())
		code, _, _ := authorizeCode(t, p.URL())
		_, err := p.Complete(context.Background(), code+"#someone-elses-state")
		ae := wantKind(t, err, ErrLoginRequired)
		if ae.Code != "state_mismatch" || f.srv.Counts().Token != 0 {
			t.Errorf("code %q, token calls %d: a mismatched code must not be exchanged", ae.Code, f.srv.Counts().Token)
		}
		assertClean(t, err, code)
	})
	t.Run("provider error in pasted URL", func(t *testing.T) {
		f := newFixture(t)
		p, _ := f.cfg.StartPaste(context.Background())
		_, err := p.Complete(context.Background(),
			"http://127.0.0.1:9/callback?error=access_denied&error_description=Nope&state="+p.auth.state)
		wantKind(t, err, ErrLoginRequired)
		if !strings.Contains(err.Error(), "Nope") {
			t.Errorf("message %q should carry the provider's description", err)
		}
	})
	t.Run("empty paste", func(t *testing.T) {
		f := newFixture(t)
		p, _ := f.cfg.StartPaste(context.Background())
		_, err := p.Complete(context.Background(), "  \"\" ")
		wantKind(t, err, ErrLoginRequired)
		if !strings.Contains(err.Error(), "paste the code") {
			t.Errorf("message %q should say what to paste", err)
		}
	})
}

func TestPasteWrongVerifierSameRedirect(t *testing.T) {
	// Two logins against one hosted page: only the PKCE verifier differs,
	// so the server's S256 check is what refuses the swapped code.
	f := newFixture(t)
	f.cfg.PasteRedirectURL = "https://provider.invalid/code"
	mine, _ := f.cfg.StartPaste(context.Background())
	other, _ := f.cfg.StartPaste(context.Background())
	code, _, _ := authorizeCode(t, other.URL())
	_, err := mine.Complete(context.Background(), code)
	ae := wantKind(t, err, ErrLoginRequired)
	if ae.Code != "invalid_grant" || !strings.Contains(err.Error(), "code_verifier") {
		t.Errorf("error %q code %q, want invalid_grant about the verifier", err, ae.Code)
	}
	assertClean(t, err, code, mine.auth.verifier, other.auth.verifier)
}

func TestExchangeHookWithJSONBody(t *testing.T) {
	f := newFixture(t)
	f.cfg.PasteRedirectURL = "https://provider.invalid/code"
	var sent CodeExchange
	f.cfg.Hooks.Exchange = func(ctx context.Context, cfg *Config, x CodeExchange) (*oauth2.Token, error) {
		sent = x
		return cfg.PostToken(ctx, "exchange", map[string]string{
			"grant_type": "authorization_code", "code": x.Code, "redirect_uri": x.RedirectURL,
			"client_id": cfg.ClientID, "code_verifier": x.Verifier, "state": x.State,
		})
	}
	p, _ := f.cfg.StartPaste(context.Background())
	code, state, _ := authorizeCode(t, p.URL())
	c, err := p.Complete(context.Background(), code+"#"+state)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Code != code || sent.State != state || sent.Verifier == "" || sent.RedirectURL != f.cfg.PasteRedirectURL {
		t.Errorf("hook got %+v", sent)
	}
	if c.RefreshToken != f.srv.LastRefreshToken() || !c.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("credentials %v", c)
	}
}
