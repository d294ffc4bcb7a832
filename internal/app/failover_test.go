package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// limitedAPI answers like Anthropic's API: 429 with the unified status
// "rejected" for the tokens in limited, 200 for any other.
type limitedAPI struct {
	mu      sync.Mutex // guards limited, seen
	limited map[string]bool
	seen    []string
}

const rejectedBody = `{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account's rate limit."}}`

func (u *limitedAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	u.mu.Lock()
	u.seen = append(u.seen, tok)
	limited := u.limited[tok]
	u.mu.Unlock()
	if limited {
		w.Header().Set("Anthropic-Ratelimit-Unified-Status", "rejected")
		w.Header().Set("Anthropic-Ratelimit-Unified-5h-Status", "rejected")
		w.Header().Set("Anthropic-Ratelimit-Unified-5h-Utilization", "1.0")
		w.Header().Set("Anthropic-Ratelimit-Unified-5h-Reset", "1795000000")
		w.Header().Set("Retry-After", "3600")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, rejectedBody)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"id":"msg_1","type":"message","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":3,"output_tokens":1}}`)
}

func (u *limitedAPI) tokens() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

// TestFailover: with failover on, a request the active account's limit
// refuses is sent once more on the other account; with no account left
// with headroom the client gets the provider's own 429, after at most one
// more try; with failover off nothing is retried.
func TestFailover(t *testing.T) {
	const first, second = "first-access-token-0123456789", "second-access-token-0123456789"
	tests := []struct {
		name     string
		failover bool
		limited  []string
		// secondRejected seeds a rejected quota reading for the second account.
		secondRejected bool
		wantStatus     int
		wantUpstream   []string
	}{
		{"the second account answers", true, []string{first}, false, http.StatusOK, []string{first, second}},
		{"the second is limited too: its own 429, no loop", true, []string{first, second}, false, http.StatusTooManyRequests, []string{first, second}},
		{"the quota says the second has no headroom", true, []string{first}, true, http.StatusTooManyRequests, []string{first}},
		{"off by default", false, []string{first}, false, http.StatusTooManyRequests, []string{first}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &limitedAPI{limited: map[string]bool{}}
			for _, tok := range tc.limited {
				api.limited[tok] = true
			}
			srv := httptest.NewServer(api)
			defer srv.Close()
			clock := clockwork.NewFakeClockAt(now)
			cfg := config.Default()
			cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: "http://127.0.0.1:9/", ClientID: "ccproxy",
				APIBase: srv.URL, APIFormat: "anthropic", Failover: tc.failover}
			a, err := New(Options{Config: cfg, Store: store.NewMemory(), Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for _, l := range []struct{ account, token string }{{"b-second", second}, {"a-first", first}} {
				c := auth.Credentials{Version: 1, Provider: "corp", AccessToken: l.token, ExpiresAt: now.Add(time.Hour), ObtainedAt: now}
				if _, err := a.Adopt(ctx, l.account, c); err != nil {
					t.Fatal(err)
				}
			}
			if tc.secondRejected {
				if _, err := a.ObserveQuota(ctx, quota.Snapshot{Provider: "corp", Account: "b-second", Status: quota.Rejected,
					Source: quota.FromHeaders, ObservedAt: now, Windows: []quota.Window{{Name: "5h", UsedPercent: 100,
						ResetsAt: now.Add(time.Hour), WindowMinutes: 300, Status: quota.Rejected}}}); err != nil {
					t.Fatal(err)
				}
			}
			events, cancel := a.Proxy().Subscribe(8)
			defer cancel()

			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787/corp/v1/messages", strings.NewReader(`{"model":"m"}`))
			rec := httptest.NewRecorder()
			a.Proxy().Handler().ServeHTTP(rec, req)

			if rec.Code != tc.wantStatus {
				t.Fatalf("client got %d %s, want %d", rec.Code, rec.Body, tc.wantStatus)
			}
			if rec.Code == http.StatusTooManyRequests && (rec.Body.String() != rejectedBody || rec.Header().Get("Anthropic-Ratelimit-Unified-Status") != "rejected") {
				t.Errorf("the client did not get the provider's own 429: %q", rec.Body)
			}
			if got := api.tokens(); strings.Join(got, ",") != strings.Join(tc.wantUpstream, ",") {
				t.Errorf("upstream saw tokens %q, want %q", got, tc.wantUpstream)
			}
			var got []proxy.Event
			for len(events) > 0 {
				got = append(got, <-events)
			}
			if len(tc.wantUpstream) == 1 {
				if len(got) != 1 || got[0].Account != "a-first" || got[0].FailoverFrom != "" {
					t.Errorf("events %+v, want one request on a-first", got)
				}
				return
			}
			if len(got) != 2 {
				t.Fatalf("%d events, want the limited attempt and the retried request", len(got))
			}
			hit, final := got[0], got[1]
			if hit.Account != "a-first" || hit.Status != http.StatusTooManyRequests || hit.ErrorKind != "usage_limit_reached" ||
				hit.Quota == nil || !hit.Quota.Rejected() || hit.Quota.Account != "a-first" {
				t.Errorf("the limited attempt's event = %+v", hit)
			}
			if final.Account != "b-second" || final.FailoverFrom != "a-first" || final.Status != tc.wantStatus {
				t.Errorf("the retried request's event = %+v", final)
			}
			if _, active, _ := a.Accounts(ctx, "corp"); active != "a-first" {
				t.Errorf("failover switched the active account to %q; it must not", active)
			}
		})
	}
}
