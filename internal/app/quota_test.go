package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// A proxied response's quota headers end up in App.Quotas, the errors
// among them too.
func TestRunKeepsTheQuotaOfProxiedResponses(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-codex-primary-used-percent", "97")
		w.Header().Set("x-codex-primary-window-minutes", "300")
		w.Header().Set("x-codex-primary-reset-after-seconds", "600")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"type":"usage_limit_reached"}}`))
	}))
	defer up.Close()
	a, _ := newApp(t, up.URL)
	ctx := context.Background()
	c := auth.Credentials{Version: 1, Provider: "corp", AccessToken: "corp-access-token-abcdefghijklmnop", ExpiresAt: now.Add(time.Hour)}
	if _, err := a.Adopt(ctx, "", c); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Proxy().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787/corp/v1/responses", strings.NewReader(`{}`)))
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d", rec.Code)
	}
	runCtx, cancel := context.WithCancel(ctx)
	cancel() // Run keeps what is already queued, then returns
	a.Run(runCtx)
	list, err := a.Quotas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Provider != "corp" || list[0].Binding != "primary" || list[0].Windows[0].UsedPercent != 97 {
		t.Fatalf("Quotas = %+v", list)
	}
	if got := list[0].Windows[0].ResetsAt; !got.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("reset %s, want 10m after the response", got)
	}
}

func TestPollQuotaAsksTheUsageEndpoint(t *testing.T) {
	var asked atomic.Int64
	usage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if r.Header.Get("Authorization") != "Bearer corp-access-token-abcdefghijklmnop" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"five_hour":{"utilization":42,"resets_at":"2026-11-23T02:10:00Z"},"seven_day":{"utilization":18,"resets_at":null}}`))
	}))
	defer usage.Close()
	clock := clockwork.NewFakeClockAt(now)
	cfg := config.Default()
	off := false
	cfg.Providers["copilot"] = config.Provider{Enabled: &off}
	cfg.Providers["codex"] = config.Provider{QuotaPoll: &off}
	cfg.Providers["claude"] = config.Provider{UsageURL: usage.URL + "/api/oauth/usage"}
	cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: "http://127.0.0.1:9/", ClientID: "ccproxy", APIBase: "http://127.0.0.1:9", UsageURL: usage.URL + "/usage"}
	a, err := New(Options{Config: cfg, Store: store.NewMemory(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []auth.Credentials{
		{Version: 1, Provider: "corp", AccessToken: "corp-access-token-abcdefghijklmnop", ExpiresAt: now.Add(time.Hour)},
		// Claude without user:profile: traffic only, without asking.
		{Version: 1, Provider: "claude", AccessToken: "claude-access-token-abcdefghijkl", ExpiresAt: now.Add(time.Hour), Scopes: []string{"user:inference"}},
	} {
		if _, err := a.Adopt(ctx, "", c); err != nil {
			t.Fatal(err)
		}
	}
	polls := a.PollQuota(ctx)
	notices := 0
	for _, p := range polls {
		if p.Err != nil {
			t.Errorf("%s: %v", p.Provider, p.Err)
		}
		if p.Notice != "" {
			notices++
			if p.Provider != "claude" || !strings.Contains(p.Notice, "traffic only") {
				t.Errorf("notice %q", p.Notice)
			}
		}
	}
	if notices != 1 || asked.Load() != 1 {
		t.Fatalf("polls %+v: %d notices, endpoint asked %d times", polls, notices, asked.Load())
	}
	list, _ := a.Quotas(ctx)
	if len(list) != 1 || list[0].Provider != "corp" || list[0].Source != quota.FromEndpoint || list[0].Windows[0].UsedPercent != 42 {
		t.Fatalf("Quotas = %+v", list)
	}
	// Again right away: nothing asked, nothing said.
	for _, p := range a.PollQuota(ctx) {
		if p.Notice != "" || p.Err != nil {
			t.Errorf("second poll: %+v", p)
		}
	}
	if asked.Load() != 1 {
		t.Errorf("asked %d times", asked.Load())
	}
}
