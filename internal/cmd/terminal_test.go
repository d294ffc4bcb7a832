package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// hostile are texts a server, file or page sends to drive the terminal that
// prints them: clear the screen, write the clipboard (OSC 52), forge a
// line of our own output.
var hostile = []string{
	"\x1b[2J\x1b[H",
	"\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07",
	"x\r\n✓ Logged in to claude as admin@example.com",
}

// assertInert fails when out holds an escape, a carriage return, a bell or
// a forged line.
func assertInert(t *testing.T, name, out string) {
	t.Helper()
	for _, bad := range []string{"\x1b", "\x07", "\r", "\u009b", "\n✓ Logged in to claude as admin"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s lets %q through:\n%q", name, bad, out)
		}
	}
}

func get(t *testing.T, raw string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func TestLoginHostileCallback(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	done := h.runAsync(ctx, "auth", "login", "corp", "--no-browser")
	authorize := h.errOut.waitFor(ctx, t, urlRE)
	h.errOut.waitFor(ctx, t, regexp.MustCompile(`Waiting for the browser…`))
	au, _ := url.Parse(authorize)
	redirect, state := au.Query().Get("redirect_uri"), au.Query().Get("state")

	// Anyone reaching the port, without the state: ignored, login waits.
	for _, p := range hostile {
		q := url.Values{"error": {"access_denied" + p}, "error_description": {p}}
		if st, _ := get(t, redirect+"?"+q.Encode()); st != http.StatusBadRequest {
			t.Errorf("stateless error callback = %d, want 400", st)
		}
		q.Set("state", "guessed")
		if st, _ := get(t, redirect+"?"+q.Encode()); st != http.StatusBadRequest {
			t.Errorf("wrong-state error callback = %d, want 400", st)
		}
	}
	select {
	case code := <-done:
		t.Fatalf("a forged callback ended the login (exit %d):\n%s", code, h.errOut)
	default:
	}
	// The provider's real error, with the state, ends it: escaped.
	q := url.Values{"error": {"access_denied" + strings.Join(hostile, "")}, "error_description": {strings.Join(hostile, "")},
		"state": {state}, "iss": {h.srv.Issuer()}}
	if _, page := get(t, redirect+"?"+q.Encode()); !strings.Contains(page, "Login failed") {
		t.Errorf("page %q", page)
	}
	if code := <-done; code != 1 {
		t.Fatalf("exit %d", code)
	}
	assertInert(t, "stderr", h.errOut.String())
	assertInert(t, "log", h.log.String())
	if !strings.Contains(h.errOut.String(), `access_denied\x1b[2J`) {
		t.Errorf("stderr does not show the escaped code:\n%s", h.errOut)
	}
}

func TestRefreshShowsAHostileErrorCodeEscaped(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	payload := strings.Join(hostile, "")
	tok := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant" + payload, "error_description": payload})
	})
	h.writeConfig(fmt.Sprintf(`
[providers.evil]
type = "oidc"
client_id = "ccproxy"
authorize_url = "%[1]s/authorize"
token_url = "%[1]s/token"
`, tok))
	saveCreds(t, h, "evil", auth.Credentials{AccessToken: "at-evil-123456", RefreshToken: "rt-evil-123456",
		Email: "mallory" + payload + "@example.com", Plan: "pro" + payload})
	if code := h.run(ctx, "auth", "status"); code != 0 {
		t.Logf("status exit %d", code)
	}
	if code := h.run(ctx, "auth", "status", "--json"); code != 0 {
		t.Logf("status --json exit %d", code)
	}
	if code := h.run(ctx, "auth", "refresh", "evil"); code != 1 {
		t.Fatalf("refresh exit %d:\n%s", code, h.errOut)
	}
	assertInert(t, "stdout", h.out.String())
	assertInert(t, "stderr", h.errOut.String())
	assertInert(t, "log", h.log.String())
	if !strings.Contains(h.out.String(), `mallory\x1b[2J`) || !strings.Contains(h.errOut.String(), `invalid_grant\x1b[2J`) {
		t.Errorf("the escaped text is missing:\nstdout:\n%s\nstderr:\n%s", h.out, h.errOut)
	}
}

func TestLoginStopsWhenAFixedPortIsHeldAndNoCodePageExists(t *testing.T) {
	ctx := testContext(t)
	squatter, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	port := squatter.Addr().(*net.TCPAddr).Port
	// A generic provider offers device login when discovery lists a device
	// endpoint; this server's lists none.
	h := newHarness(t, nil, fake.WithIdentity("user-42", "ada@example.com"), fake.WithoutDeviceDiscovery())
	h.writeConfig(fmt.Sprintf(`
[providers.sso]
type = "oidc"
issuer = %q
client_id = "ccproxy"
redirect_url = "http://localhost:%d/callback"
`, h.srv.Issuer(), port))
	if code := h.run(ctx, "auth", "login", "sso", "--no-browser"); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, h.errOut)
	}
	msg := h.errOut.String()
	if !strings.Contains(msg, fmt.Sprint(port)) || !strings.Contains(msg, "held by another program") ||
		!strings.Contains(msg, "providers.sso.redirect_url") {
		t.Errorf("the message should name the port and the way out:\n%s", msg)
	}
	if strings.Contains(msg, "--device") || strings.Contains(msg, "--paste") || strings.Contains(msg, "Open this URL") {
		t.Errorf("sso offers neither device nor a code page, and no URL may be handed out:\n%s", msg)
	}
	if n := h.srv.Counts().Authorize; n != 0 {
		t.Errorf("the authorize endpoint was reached %d times", n)
	}
}

// httpServer serves h on loopback for the test's duration; it returns the
// base URL.
func httpServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := &http.Server{Handler: h}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// saveCreds stores c as the provider's account "default" in the harness's
// credentials folder.
func saveCreds(t *testing.T, h *harness, provider string, c auth.Credentials) {
	t.Helper()
	c.Provider = provider
	st, err := store.NewFile(h.credsDir)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(context.Background(), store.AccountKey(provider, "default"), blob); err != nil {
		t.Fatal(err)
	}
}

func TestLoginRefusesAForgedIssuer(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	done := h.runAsync(ctx, "auth", "login", "corp", "--no-browser")
	authorize := h.errOut.waitFor(ctx, t, urlRE)
	h.errOut.waitFor(ctx, t, regexp.MustCompile(`Waiting for the browser…`))
	// The real provider's code and state, delivered with another issuer (a
	// mix-up attack's signature).
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	h.secret(q.Get("code"))
	q.Set("iss", "https://evil.example")
	loc.RawQuery = q.Encode()
	if _, page := get(t, loc.String()); !strings.Contains(page, "Login failed") {
		t.Errorf("page %q", page)
	}
	if code := <-done; code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, h.errOut)
	}
	if !strings.Contains(h.errOut.String(), "issuer_mismatch") || !strings.Contains(h.errOut.String(), "evil.example") {
		t.Errorf("stderr:\n%s", h.errOut)
	}
	if n := h.srv.Counts().Exchange; n != 0 {
		t.Errorf("the code was exchanged %d times", n)
	}
	h.assertNoSecrets()
}
