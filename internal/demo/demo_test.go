package demo

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDemoStartsWithCountdownsAndALoggedOutProvider(t *testing.T) {
	ctx := context.Background()
	a, stop, err := App(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	st := a.Statuses(ctx)
	want := map[string]struct {
		in   bool
		life time.Duration
	}{"claude-demo": {true, 6 * time.Minute}, "codex-demo": {true, 20 * time.Minute}, "copilot-demo": {false, 0}}
	if len(st) != len(want) {
		t.Fatalf("providers %v", names(st))
	}
	for _, s := range st {
		w, ok := want[s.Provider]
		if !ok {
			t.Fatalf("unexpected provider %q (real built-ins must be disabled)", s.Provider)
		}
		if s.Authenticated != w.in {
			t.Errorf("%s authenticated = %v", s.Provider, s.Authenticated)
		}
		if w.in && (s.ExpiresIn <= 0 || s.ExpiresIn > int64(w.life/time.Second)) {
			t.Errorf("%s expires in %ds, want at most %v", s.Provider, s.ExpiresIn, w.life)
		}
		// A demo that opens all yellow looks broken: the logged-in rows
		// start calm and only later count into the expiring window.
		if w.in && s.State != auth.StateOK {
			t.Errorf("%s starts %q, want ok", s.Provider, s.State)
		}
		if w.in && !strings.Contains(s.Email, ".demo") {
			t.Errorf("%s email %q", s.Provider, s.Email)
		}
	}
}

func TestDemoBrowserLoginApprovesItself(t *testing.T) {
	ctx := context.Background()
	a, stop, err := App(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if _, err := a.Logout(ctx, "codex-demo"); err != nil {
		t.Fatal(err)
	}
	l, err := a.StartBrowserLogin(ctx, "codex-demo")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	opened := make(chan error, 1)
	go func() {
		_, err := OpenBrowser(l.URL())
		opened <- err
	}()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := l.Wait(wctx)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if err := <-opened; err != nil {
		t.Fatalf("browser: %v", err)
	}
	if c.Email != "ada@codex.demo" || !a.Statuses(ctx)[1].Authenticated {
		t.Errorf("after login: %s %+v", c.Email, a.Statuses(ctx)[1])
	}
}

func TestDemoBrowserRefusesRealHosts(t *testing.T) {
	for _, u := range []string{"https://claude.ai/oauth/authorize", "http://example.com/", "::not a url"} {
		if ok, err := OpenBrowser(u); ok || err == nil {
			t.Errorf("OpenBrowser(%q) = %v, %v; want a refusal", u, ok, err)
		}
	}
}

func TestDemoProxyServesTheFakeUpstream(t *testing.T) {
	ctx := context.Background()
	a, stop, err := App(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	p := a.Proxy()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Stop(ctx)
	resp, err := http.Post(p.URL()+"/claude-demo/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"demo","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if strings.Contains(p.URL(), ":8787") {
		t.Errorf("the demo proxy took the real default port: %s", p.URL())
	}
	// Restarting keeps the address, so exports already copied still work.
	first := p.URL()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if p.URL() != first {
		t.Errorf("restarted on %s, was %s", p.URL(), first)
	}
}

// claude-demo is shaped like claude: clients get Anthropic-shaped errors
// from it (and ANTHROPIC_* exports); the others speak the OpenAI API.
func TestDemoProvidersSpeakTheirAPIs(t *testing.T) {
	ctx := context.Background()
	a, stop, err := App(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	want := map[string]string{"claude-demo": "anthropic", "codex-demo": "openai", "copilot-demo": "openai"}
	for _, p := range a.Providers() {
		if got := p.ErrorFormat(); got != want[p.Name] {
			t.Errorf("%s speaks %q, want %q", p.Name, got, want[p.Name])
		}
	}
}

func names(st []auth.Status) []string {
	var out []string
	for _, s := range st {
		out = append(out, s.Provider)
	}
	return out
}

// The demo's first frame already has meters: each logged-in provider's
// first request answered with its family's quota headers, codex-demo
// close to its limit.
func TestDemoStartsWithQuotaMeters(t *testing.T) {
	ctx := context.Background()
	a, stop, err := App(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	list, err := a.Quotas(ctx) // before Run: the dashboard's first read

	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range list {
		for _, w := range s.Windows {
			got[s.Provider] += w.Name + "=" + w.Percent() + " "
		}
	}
	want := map[string]string{"claude-demo": "5h=41% 7d=13% ", "codex-demo": "primary=86% secondary=28% "}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s meters %q, want %q", p, got[p], w)
		}
	}
	if _, ok := got["copilot-demo"]; ok {
		t.Error("copilot-demo has quota before anyone logged in")
	}
}

// TestDemoProxyAdviceWorksInTheDemo checks the answers a client gets that
// name a next step: a 401 names the demo dashboard's key (a command run
// elsewhere could not log the demo in), and GET / says what the proxy is.
func TestDemoProxyAdviceWorksInTheDemo(t *testing.T) {
	ctx := context.Background()
	a, stop, err := App(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	h := a.Proxy().Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://127.0.0.1/copilot-demo/chat/completions", strings.NewReader(`{}`)))
	if body := rec.Body.String(); rec.Code != http.StatusUnauthorized || !strings.Contains(body, "select copilot-demo and press d") || strings.Contains(body, "auth login") {
		t.Errorf("401 for copilot-demo: %d %s", rec.Code, body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil))
	if body := rec.Body.String(); rec.Code != http.StatusNotFound || strings.Contains(body, `"//"`) || !strings.Contains(body, "this is the ccproxy-tui proxy") {
		t.Errorf("GET /: %d %s", rec.Code, body)
	}
}
