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

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

// stateOf is the state a login's authorize URL carries.
func stateOf(t *testing.T, l *BrowserLogin) string {
	t.Helper()
	u, err := url.Parse(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state")
}

func TestCallbackWithoutTheStateKeepsTheLoginWaiting(t *testing.T) {
	f := newFixture(t)
	l, err := f.cfg.StartBrowser(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wait := waitAsync(context.Background(), l)
	cb := l.RedirectURL()
	for _, tc := range []struct{ name, query string }{
		{"wrong state", "code=stolen-code-123&state=not-the-state"},
		{"missing state", "code=stolen-code-123"},
		{"error without state", "error=access_denied&error_description=" + url.QueryEscape(hostile["clear screen"])},
		{"error with a wrong state", "error=access_denied&state=guess"},
		{"escape payloads", "error=" + url.QueryEscape(hostile["osc 52"]) + "&error_description=" +
			url.QueryEscape(hostile["forged line"]) + "&state=x"},
		{"forged issuer", "code=stolen-code-123&state=nope&iss=https%3A%2F%2Fevil.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, page := browse(t, cb+"?"+tc.query)
			if status != http.StatusBadRequest || !strings.Contains(page, "still waiting") {
				t.Errorf("GET ?%s = %d %q, want 400 saying the login still waits", tc.query, status, page)
			}
			if strings.Contains(page, "\x1b") {
				t.Errorf("page echoes an escape sequence: %q", page)
			}
		})
	}
	// The real answer still completes the login.
	status, page := browse(t, l.URL())
	if status != http.StatusOK || !strings.Contains(page, "Logged in") {
		t.Errorf("real callback = %d %q", status, page)
	}
	if _, err := wait(); err != nil {
		t.Fatalf("login after forged callbacks: %v", err)
	}
	if n := f.srv.Counts().Exchange; n != 1 {
		t.Errorf("exchanges = %d, want only the real one", n)
	}
}

func TestCallbackErrorWithTheStateIsHonouredEscaped(t *testing.T) {
	for name, payload := range hostile {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			l, err := f.cfg.StartBrowser(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wait := waitAsync(context.Background(), l)
			q := url.Values{"error": {"access_denied" + payload}, "error_description": {"no" + payload}, "state": {stateOf(t, l)}}
			status, page := browse(t, l.RedirectURL()+"?"+q.Encode())
			_, err = wait()
			var ae *Error
			if !errors.As(err, &ae) || ae.Code == "" {
				t.Fatalf("login = %v, want the provider's refusal", err)
			}
			assertInert(t, "error", err.Error())
			assertInert(t, "code", ae.Code)
			if !strings.Contains(page, "Login failed") || status != http.StatusOK {
				t.Errorf("page = %d %q, want the failure", status, page)
			}
			assertInert(t, "page", strings.ReplaceAll(page, "\n", ""))
		})
	}
}

func TestCallbackIssuer(t *testing.T) {
	tests := []struct {
		name       string
		advertised bool
		iss        string // "-" = none
		code       string // "" = success
	}{
		{"forged iss", false, "https://evil.example", "issuer_mismatch"},
		{"forged iss, advertised", true, "https://evil.example", "issuer_mismatch"},
		{"missing iss, advertised", true, "-", "issuer_missing"},
		{"missing iss, not advertised", false, "-", ""},
		{"right iss", true, "{issuer}", ""},
		{"right iss with a trailing slash", true, "{issuer}/", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.Issuer, f.cfg.IssuerInResponse = f.srv.Issuer(), tc.advertised
			l, err := f.cfg.StartBrowser(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			code, state, _ := authorizeCode(t, l.URL())
			q := url.Values{"code": {code}, "state": {state}}
			if tc.iss != "-" {
				q.Set("iss", strings.ReplaceAll(tc.iss, "{issuer}", f.srv.Issuer()))
			}
			wait := waitAsync(context.Background(), l)
			_, page := browse(t, l.RedirectURL()+"?"+q.Encode())
			_, err = wait()
			if tc.code == "" {
				if err != nil || !strings.Contains(page, "Logged in") {
					t.Fatalf("login = %v, page %q", err, page)
				}
				return
			}
			ae := wantKind(t, err, ErrLoginRequired)
			if ae.Code != tc.code || !strings.Contains(page, "Login failed") {
				t.Errorf("code %q page %q, want %s and a failure page", ae.Code, page, tc.code)
			}
			if n := f.srv.Counts().Exchange; n != 0 {
				t.Errorf("the code was exchanged %d times despite the issuer", n)
			}
		})
	}
	t.Run("repeated iss", func(t *testing.T) {
		f := newFixture(t)
		f.cfg.Issuer = f.srv.Issuer()
		l, err := f.cfg.StartBrowser(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		code, state, _ := authorizeCode(t, l.URL())
		q := url.Values{"code": {code}, "state": {state}, "iss": {f.srv.Issuer(), "https://evil.example"}}
		if st, _ := browse(t, l.RedirectURL()+"?"+q.Encode()); st != http.StatusBadRequest {
			t.Errorf("a response repeating iss = %d, want 400", st)
		}
	})
	t.Run("pasted address", func(t *testing.T) {
		f := newFixture(t)
		f.cfg.Issuer = f.srv.Issuer()
		l, err := f.cfg.StartPaste(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_, _, redirect := authorizeCode(t, l.URL())
		u, _ := url.Parse(redirect)
		q := u.Query()
		q.Set("iss", "https://evil.example")
		u.RawQuery = q.Encode()
		_, err = l.Complete(context.Background(), u.String())
		if ae := wantKind(t, err, ErrLoginRequired); ae.Code != "issuer_mismatch" {
			t.Errorf("code %q, want issuer_mismatch", ae.Code)
		}
	})
}

// answers reports whether something serves HTTP at addr.
func answers(addr string) bool {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/favicon.ico")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusNotFound
}

func TestCallbackListensWhereTheRedirectPoints(t *testing.T) {
	tests := []struct {
		host     string
		v4, v6   bool
		redirect string
	}{
		{"[::1]", false, true, "http://[::1]:%d/callback"},
		{"127.0.0.1", true, false, "http://127.0.0.1:%d/callback"},
		{"localhost", true, true, "http://localhost:%d/callback"},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.RedirectURL = "http://" + tc.host + ":0/callback"
			l, err := f.cfg.StartBrowser(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			port := strconv.Itoa(l.Port())
			if got := answers("127.0.0.1:" + port); got != tc.v4 {
				t.Errorf("127.0.0.1 answers = %v, want %v", got, tc.v4)
			}
			if got := answers("[::1]:" + port); got != tc.v6 {
				t.Errorf("[::1] answers = %v, want %v", got, tc.v6)
			}
			if want := fmt.Sprintf(tc.redirect, l.Port()); l.RedirectURL() != want {
				t.Errorf("redirect = %q, want %q", l.RedirectURL(), want)
			}
			wait := waitAsync(context.Background(), l)
			if _, page := browse(t, l.URL()); !strings.Contains(page, "Logged in") {
				t.Errorf("login page %q", page)
			}
			if _, err := wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCallbackPortHeldOnEitherFamilyIsBusy(t *testing.T) {
	squatter, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	port := squatter.Addr().(*net.TCPAddr).Port
	f := newFixture(t)
	f.cfg.RedirectURL = fmt.Sprintf("http://localhost:%d/callback", port)
	_, err = f.cfg.StartBrowser(context.Background())
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("err = %v, want ErrPortInUse naming %d: a browser resolving localhost to ::1 would reach the squatter", err, port)
	}
	if !portFree(port) {
		t.Errorf("127.0.0.1:%d was left bound", port)
	}
}

func TestPasteLoginRefusesABusyFixedPort(t *testing.T) {
	squatter, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	port := squatter.Addr().(*net.TCPAddr).Port
	f := newFixture(t)
	f.cfg.RedirectURL = fmt.Sprintf("http://localhost:%d/callback", port)
	_, err = f.cfg.StartPaste(context.Background())
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("StartPaste with port %d held = %v; the browser would hand the code to that program", port, err)
	}
	f.cfg.PasteRedirectURL = "https://provider.example/oauth/code/callback"
	l, err := f.cfg.StartPaste(context.Background())
	if err != nil {
		t.Fatalf("a hosted code page needs no port: %v", err)
	}
	u, _ := url.Parse(l.URL())
	if got := u.Query().Get("redirect_uri"); got != f.cfg.PasteRedirectURL {
		t.Errorf("redirect_uri = %q, want the hosted page", got)
	}
}

func TestCallbackPageWaitsForTheOutcome(t *testing.T) {
	t.Run("exchange fails", func(t *testing.T) {
		f := newFixture(t)
		f.srv.InjectTokenFault(fake.FaultServerError(), 1)
		l, err := f.cfg.StartBrowser(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wait := waitAsync(context.Background(), l)
		_, page := browse(t, l.URL())
		if _, err := wait(); err == nil {
			t.Fatal("login succeeded despite the 500")
		}
		if strings.Contains(page, "Logged in") || !strings.Contains(page, "Login failed") || !strings.Contains(page, "HTTP 500") {
			t.Errorf("page %q, want the failure with its reason", page)
		}
	})
	t.Run("saved before the page", func(t *testing.T) {
		f := newFixture(t)
		l, err := f.cfg.StartBrowser(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages := make(chan string, 1)
		saveErr := errors.New("disk full")
		done := make(chan error, 1)
		go func() {
			_, err := l.WaitSave(context.Background(), func(context.Context, Credentials) error {
				select {
				case p := <-pages:
					t.Errorf("the browser got its page %q before the save ended", p)
				default:
				}
				return saveErr
			})
			done <- err
		}()
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(l.URL())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pages <- string(b)
		if err := <-done; !errors.Is(err, saveErr) {
			t.Errorf("WaitSave = %v, want the save's error", err)
		}
		if page := string(b); strings.Contains(page, "Logged in") || !strings.Contains(page, "disk full") {
			t.Errorf("page %q, want the save failure", page)
		}
	})
}
