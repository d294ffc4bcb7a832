package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

// TestEndToEnd builds the binary and drives it the way a user does: auth
// login completes through the browser callback, serve runs headless, and a streaming request through the proxy reaches the
// upstream with the provider's token and none of the client's credentials.
// SIGTERM mid-stream lets the stream finish and serve exit 0.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(ctx, t)

	idp := fake.NewOAuthServer(fake.WithClientID("ccproxy"), fake.WithIdentity("user-42", "ada@example.com"))
	defer idp.Close()
	up := fake.NewUpstream(fake.UpstreamOptions{Record: true, Deltas: 6})
	upstream := httptest.NewServer(up)
	defer upstream.Close()

	const proxyKey = "client-side-proxy-key-3f9a7c"
	home := filepath.Join(dir, "home")
	cfgHome := filepath.Join(dir, "config")
	stateHome := filepath.Join(dir, "state")
	cfgFile := filepath.Join(cfgHome, "ccproxy-tui", "config.toml")
	os.MkdirAll(filepath.Dir(cfgFile), 0o700)
	os.MkdirAll(home, 0o700)
	config := fmt.Sprintf(`[proxy]
listen = "127.0.0.1:0"
api_key = %q

[providers.corp]
type = "oidc"
issuer = %q
client_id = "ccproxy"
api_base = %q
`, proxyKey, idp.Issuer(), upstream.URL+"/api")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(cleanEnv(), "HOME="+home, "XDG_CONFIG_HOME="+cfgHome, "XDG_STATE_HOME="+stateHome,
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))

	// 1. serve, headless, started before anyone has logged in: the login
	// that another process makes next must be seen by it at once.
	serve := exec.Command(bin, "serve")
	serve.Env = env
	serveErr := &syncBuffer{}
	pr, pw := io.Pipe()
	serve.Stderr = io.MultiWriter(serveErr, pw)
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- serve.Wait(); pw.Close() }()
	defer func() {
		if serve.ProcessState == nil {
			serve.Process.Kill()
			<-serveDone
		}
	}()
	proxyURL := waitLine(t, pr, regexp.MustCompile(`serving.*url=(http://127\.0\.0\.1:\d+)`))
	go io.Copy(io.Discard, pr)

	// 2. auth login through the CLI, the test playing the browser.
	login := exec.CommandContext(ctx, bin, "auth", "login", "corp", "--no-browser")
	login.Env = env
	loginOut := &syncBuffer{}
	lr, lw := io.Pipe()
	login.Stdout = loginOut
	login.Stderr = io.MultiWriter(loginOut, lw)
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	loginDone := make(chan error, 1)
	go func() { loginDone <- login.Wait(); lw.Close() }()
	authorize := waitLine(t, lr, regexp.MustCompile(`^  (http://\S+/authorize\?\S+)$`))
	go io.Copy(io.Discard, lr)
	var code string
	browser := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if c := r.URL.Query().Get("code"); c != "" {
			code = c
		}
		return nil
	}}
	resp, err := browser.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-loginDone; err != nil {
		t.Fatalf("login: %v\n%s", err, loginOut)
	}
	if !strings.Contains(loginOut.String(), "✓ Logged in to corp as ada@example.com") {
		t.Errorf("login output:\n%s", loginOut)
	}
	creds := readCreds(t, filepath.Join(cfgHome, "ccproxy-tui", "credentials", "corp@ada@example.com.json"))
	secrets := []string{code, creds.AccessToken, creds.RefreshToken, creds.IDToken, proxyKey}

	// 3. a streaming request through the proxy with plain net/http.
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, proxyURL+"/corp/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+proxyKey)
	req.Header.Set("X-Api-Key", proxyKey)
	req.Header.Set("Cookie", "session=client-cookie")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Fake-Pace", "40ms")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("proxy answered %s %s: %s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	sc := bufio.NewScanner(resp.Body)
	events := 0
	signalled := false
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "data:") {
			continue
		}
		events++
		if !signalled {
			// 4. SIGTERM with the stream in flight: it must drain.
			serve.Process.Signal(syscall.SIGTERM)
			signalled = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("stream cut: %v after %d events", err, events)
	}
	if events < 6 {
		t.Errorf("stream ended after %d events, want the whole reply", events)
	}

	seen := up.Requests()
	if len(seen) != 1 {
		t.Fatalf("upstream saw %d requests", len(seen))
	}
	got := seen[0]
	if got.Path != "/api/v1/chat/completions" {
		t.Errorf("upstream path %s", got.Path)
	}
	if a := got.Header.Get("Authorization"); a != "Bearer "+creds.AccessToken {
		t.Errorf("upstream Authorization is not the provider's token (%d chars)", len(a))
	}
	for _, h := range []string{"X-Api-Key", "Cookie"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("upstream saw the client's %s", h)
		}
	}
	for k, vs := range got.Header {
		for _, v := range vs {
			if strings.Contains(v, proxyKey) {
				t.Errorf("upstream saw the client's key in %s", k)
			}
		}
	}

	select {
	case err := <-serveDone:
		if err != nil {
			t.Fatalf("serve exit: %v\n%s", err, serveErr)
		}
	case <-ctx.Done():
		t.Fatal("serve did not exit after SIGTERM")
	}
	t.Logf("serve stderr:\n%s", serveErr)
	// Requests are summed up at info level (one line a minute, and one at
	// the stop); each request has its own line only at debug level.
	if !regexp.MustCompile(`msg=requests requests=1 errors=0 bytes=\d+ providers="corp=1"`).MatchString(serveErr.String()) {
		t.Errorf("serve did not log the request summary")
	}
	if !strings.Contains(serveErr.String(), "stopped") {
		t.Errorf("serve log:\n%s", serveErr)
	}

	// 5. no secret anywhere a user or an admin could read.
	logFile, err := os.ReadFile(filepath.Join(stateHome, "ccproxy-tui", "ccproxy-tui.log"))
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	if !strings.Contains(string(logFile), "login succeeded") {
		t.Errorf("log file does not record the login:\n%s", logFile)
	}
	for name, text := range map[string]string{"serve stderr": serveErr.String(), "login output": loginOut.String(), "log file": string(logFile)} {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s shows a whole secret %s…", name, s[:6])
			}
		}
	}
}

// built is the binary every end-to-end test runs: building it once, not
// once per test, keeps the suite from linking the same program seven times.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// TestMain removes the shared binary once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildBinary builds ccproxy-tui once, as a user's `go build` would, and
// returns its path.
func buildBinary(ctx context.Context, t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "ccproxy-tui-e2e-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		bin := filepath.Join(dir, "ccproxy-tui")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// The demo runs on loopback fakes and must not create, read or write any
// file of the user's: no credentials, no config, and no log either.
func TestDemoTouchesNoUserFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(ctx, t)
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	xdg := map[string]string{}
	env := append(cleanEnv(), "HOME="+home)
	for _, k := range []string{"XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"} {
		xdg[k] = filepath.Join(home, strings.ToLower(k))
		env = append(env, k+"="+xdg[k])
	}

	serve := exec.Command(bin, "serve", "--demo")
	serve.Env = env
	stderr := &syncBuffer{}
	pr, pw := io.Pipe()
	serve.Stderr = io.MultiWriter(stderr, pw)
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait(); pw.Close() }()
	url := waitLine(t, pr, regexp.MustCompile(`serving.*url=(http://127\.0\.0\.1:\d+)`))
	go io.Copy(io.Discard, pr)
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve --demo exit: %v\n%s", err, stderr)
		}
	case <-ctx.Done():
		serve.Process.Kill()
		t.Fatal("serve --demo did not exit after SIGTERM")
	}
	entries, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("the demo created %s in HOME", e.Name())
	}
}

// cleanEnv is the test's environment without anything that could point the
// binary at the user's real files or a display.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CCPROXY_TUI_") || strings.HasPrefix(k, "XDG_") || k == "HOME" ||
			k == "DISPLAY" || k == "WAYLAND_DISPLAY" || k == "SSH_CONNECTION" || k == "BROWSER" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// waitLine reads r line by line until re matches and returns its submatch.
func waitLine(t *testing.T, r io.Reader, re *regexp.Regexp) string {
	t.Helper()
	sc := bufio.NewScanner(r)
	var seen []string
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			return m[1]
		}
		seen = append(seen, sc.Text())
	}
	t.Fatalf("never printed %s; output:\n%s", re, strings.Join(seen, "\n"))
	return ""
}

type storedCreds struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

func readCreds(t *testing.T, path string) storedCreds {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("credentials file: %v", err)
	}
	var c storedCreds
	if err := json.Unmarshal(b, &c); err != nil || c.AccessToken == "" {
		t.Fatalf("credentials file does not parse: %v", err)
	}
	return c
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
