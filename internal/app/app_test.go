package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var now = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)

func newApp(t *testing.T, apiBase string) (*App, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(now)
	cfg := config.Default()
	cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: "http://127.0.0.1:9/", ClientID: "ccproxy", APIBase: apiBase}
	off := false
	cfg.Providers["copilot"] = config.Provider{Enabled: &off}
	a, err := New(Options{Config: cfg, Store: store.NewMemory(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return a, clock
}

func TestProxyServesAdoptedCredentialsThroughTheManager(t *testing.T) {
	up := fake.NewUpstream(fake.UpstreamOptions{Record: true})
	srv := httptest.NewServer(up)
	defer srv.Close()
	a, _ := newApp(t, srv.URL)
	ctx := context.Background()

	if names := providerNames(a); !slices.Equal(names, []string{"claude", "codex", "corp"}) {
		t.Fatalf("providers = %v (copilot is disabled)", names)
	}

	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787/corp/v1/chat/completions", strings.NewReader(`{"model":"m"}`))
	rec := httptest.NewRecorder()
	a.Proxy().Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "auth login corp") {
		t.Fatalf("before login: %d %s", rec.Code, rec.Body)
	}

	c := auth.Credentials{Version: 1, Provider: "corp", AccessToken: "corp-access-token-abcdefghijklmnop",
		RefreshToken: "corp-refresh", ExpiresAt: now.Add(time.Hour), ObtainedAt: now, Email: "ada@example.com"}
	if _, err := a.Adopt(ctx, "", c); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787/corp/v1/chat/completions", strings.NewReader(`{"model":"m"}`))
	req.Header.Set("Authorization", "Bearer client-key")
	a.Proxy().Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("after login: %d %s", rec.Code, rec.Body)
	}
	seen := up.Requests()
	if len(seen) != 1 || seen[0].Header.Get("Authorization") != "Bearer "+c.AccessToken {
		t.Fatalf("upstream did not get the provider's token")
	}

	st, err := a.Status(ctx, "corp")
	if err != nil || !st.Authenticated || st.Email != "ada@example.com" {
		t.Errorf("status = %+v, %v", st, err)
	}
	tok, err := a.Token(ctx, "corp")
	if err != nil || tok != c.AccessToken {
		t.Errorf("token: %v", err)
	}
	if _, err := a.Logout(ctx, "corp"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token(ctx, "corp"); !errors.Is(err, auth.ErrLoginRequired) {
		t.Errorf("token after logout: %v", err)
	}
}

func TestLoginFlowsAreCheckedBeforeAnyNetwork(t *testing.T) {
	a, _ := newApp(t, "")
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"device on claude", func() error { _, err := a.DeviceLogin(ctx, "claude", nil); return err },
			"claude does not offer device login (it offers: browser, paste)"},
		{"unknown provider", func() error { _, err := a.StartBrowserLogin(ctx, "nope"); return err }, "nope"},
		{"disabled provider", func() error { _, err := a.Refresh(ctx, "copilot"); return err }, "copilot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	var uf *UnsupportedFlowError
	if _, err := a.DeviceLogin(ctx, "claude", nil); !errors.As(err, &uf) || uf.Flow != auth.FlowDevice {
		t.Errorf("not an *UnsupportedFlowError: %v", err)
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	a, _ := newApp(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	cancel()
	<-done
}

func TestNewRejectsANonLoopbackListenWithoutKey(t *testing.T) {
	cfg := config.Default()
	cfg.Proxy.Listen = "0.0.0.0:8787"
	if _, err := New(Options{Config: cfg, Store: store.NewMemory()}); err == nil || !strings.Contains(err.Error(), "proxy") {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenStore(t *testing.T) {
	for _, b := range []string{"file", "memory"} {
		st, err := OpenStore(config.Store{Backend: b, Dir: t.TempDir()})
		if err != nil || st == nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	if _, err := OpenStore(config.Store{Backend: "floppy"}); err == nil {
		t.Error("unknown backend accepted")
	}
}

func providerNames(a *App) []string {
	var out []string
	for _, p := range a.Providers() {
		out = append(out, p.Name)
	}
	return out
}

// A generic provider offers device login whatever its default flow, when
// discovery lists a device endpoint; when it lists none the login says so
// and how to fix it.
func TestOIDCDeviceLoginFollowsDiscovery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []fake.Option
		wantOK bool
	}{
		{"discovery lists a device endpoint", nil, true},
		{"discovery lists none", []fake.Option{fake.WithoutDeviceDiscovery()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fake.NewOAuthServer(append([]fake.Option{fake.WithClientID("ccproxy")}, tc.opts...)...)
			defer srv.Close()
			cfg := config.Default()
			cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: srv.Issuer(), ClientID: "ccproxy", Flow: "browser",
				APIBase: "http://127.0.0.1:9/"}
			transport := &http.Transport{DisableKeepAlives: true}
			defer transport.CloseIdleConnections()
			a, err := New(Options{Config: cfg, Store: store.NewMemory(), HTTPClient: &http.Client{Transport: transport, Timeout: 10 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var shown auth.DeviceCode
			c, err := a.DeviceLogin(ctx, "corp", func(dc auth.DeviceCode) { shown = dc })
			if tc.wantOK {
				if err != nil || c.AccessToken == "" || shown.UserCode == "" {
					t.Fatalf("device login: %v (user code %q)", err, shown.UserCode)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "device_authorization_endpoint") || !strings.Contains(err.Error(), "device_url") {
				t.Fatalf("err = %v, want it to name the missing endpoint and the fix", err)
			}
		})
	}
}
