package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
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
	if err := a.Adopt(ctx, c); err != nil {
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
