package proxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

func TestEdgeRequests(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		tokensErr  error
		reject     bool
		wantStatus int
		wantPath   string // upstream path, when it is reached
		wantCalls  int64
	}{
		{name: "bare route hits the base path", method: "GET", path: "/codex", wantStatus: 200, wantPath: "/backend-api/codex", wantCalls: 1},
		{name: "dot-dot segment refused", method: "GET", path: "/codex/%2E%2E/admin", wantStatus: 400},
		{name: "bodyless GET retried after 401", method: "GET", path: "/codex/models", reject: true, wantStatus: 200, wantPath: "/backend-api/codex/models", wantCalls: 2},
		{name: "misconfigured provider", method: "POST", path: "/claude/v1/messages", body: "{}",
			tokensErr: &auth.Error{Provider: "claude", Op: "token", Kind: auth.ErrMisconfigured}, wantStatus: 500},
		{name: "healthz only answers GET", method: "POST", path: "/healthz", wantStatus: 405},
		{name: "root is not a route", method: "GET", path: "/", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, fake.UpstreamOptions{}, Options{}, "tok-old", "tok-new")
			r.tokens.err = tc.tokensErr
			if tc.reject {
				r.up.RejectToken("tok-old")
			}
			resp, body := r.do(t, r.req(t, tc.method, tc.path, tc.body))
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			if n := r.up.Calls(); n != tc.wantCalls {
				t.Fatalf("upstream calls = %d, want %d", n, tc.wantCalls)
			}
			if tc.wantPath != "" {
				seen := r.up.Requests()
				if got := seen[len(seen)-1]; got.Path != tc.wantPath || len(got.Body) != 0 && tc.body == "" {
					t.Errorf("upstream got %s body %q, want %s", got.Path, got.Body, tc.wantPath)
				}
			}
		})
	}
}

// TestWildcardListenWithKey: on 0.0.0.0 (which needs the key) a LAN host
// name passes the Host check, because the key is the guard there.
func TestWildcardListenWithKey(t *testing.T) {
	const key = "k-0123456789"
	s := newTestServer(t, Options{Listen: "0.0.0.0:8787", APIKey: key})
	for _, tc := range []struct {
		host, key string
		want      int
	}{
		{"mybox.lan:8787", key, 200},
		{"mybox.lan:8787", "", 401},
		{"192.168.1.5:8787", key, 200},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+"/status", nil)
		if tc.key != "" {
			req.Header.Set("X-Api-Key", tc.key)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("Host %s key=%t: status %d, want %d", tc.host, tc.key != "", rec.Code, tc.want)
		}
	}
}

// TestUptimeCountsFromStart: /status uptime restarts with the proxy, the
// request counters do not.
func TestUptimeCountsFromStart(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s := newTestServer(t, Options{Listen: "127.0.0.1:0", Clock: clock})
	clock.Advance(5 * time.Second)
	if got := s.Stats().Uptime; got != 5*time.Second {
		t.Errorf("uptime before Start = %s, want 5s since New", got)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	clock.Advance(3 * time.Second)
	if got := s.Stats(); got.Uptime != 3*time.Second || got.UptimeSeconds != 3 {
		t.Errorf("uptime after Start = %s (%ds), want 3s", got.Uptime, got.UptimeSeconds)
	}
}

// TestStatusCountsDroppedEvents: a subscriber too slow to take request
// events, and credential events the rest of the program missed, both show
// in /status instead of vanishing.
func TestStatusCountsDroppedEvents(t *testing.T) {
	var authDropped atomic.Uint64
	authDropped.Store(3)
	r := newRig(t, fake.UpstreamOptions{}, Options{AuthDropped: authDropped.Load}, "tok-A")
	_, cancel := r.srv.Subscribe(1) // never read: the second event has no room
	defer cancel()
	for range 3 {
		rec := httptest.NewRecorder()
		r.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8787/claude/v1/models", nil))
	}
	rec := httptest.NewRecorder()
	r.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8787/status", nil))
	var body struct {
		Proxy struct {
			Dropped int64 `json:"dropped_events"`
		} `json:"proxy"`
		AuthDropped uint64 `json:"auth_dropped_events"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("status body: %v: %s", err, rec.Body)
	}
	if body.Proxy.Dropped < 2 {
		t.Errorf("proxy dropped_events = %d, want at least 2 of 3 events to a full subscriber", body.Proxy.Dropped)
	}
	if body.AuthDropped != 3 {
		t.Errorf("auth_dropped_events = %d, want 3", body.AuthDropped)
	}
}

// errReader fails the read, as a client that stops mid-body does.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestUnreadableBody: a body that fails mid-read (a broken chunked
// encoding, say) is answered 400 and never reaches the upstream.
func TestUnreadableBody(t *testing.T) {
	r := newRig(t, fake.UpstreamOptions{}, Options{}, "tok-A")
	for _, length := range []int64{-1, 50} {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787/claude/v1/messages",
			io.MultiReader(strings.NewReader(`{"a":`), errReader{}))
		req.ContentLength = length
		rec := httptest.NewRecorder()
		r.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("length %d: status %d, want 400: %s", length, rec.Code, rec.Body)
		}
		parseErrorShape(t, FormatAnthropic, rec.Body.Bytes())
	}
	if n := r.up.Calls(); n != 0 {
		t.Errorf("upstream called %d times", n)
	}
}
