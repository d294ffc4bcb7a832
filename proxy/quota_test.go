package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/accounts"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// quotaUpstream answers /ok with Anthropic's and Copilot's quota headers,
// /limited with a 429 carrying a rejected window, /stream with Codex's on
// a server-sent stream, and /plain with none.
func quotaUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/ok":
			h.Set("anthropic-ratelimit-unified-5h-utilization", "0.42")
			h.Set("anthropic-ratelimit-unified-5h-reset", "1796159400")
			h.Set("anthropic-ratelimit-unified-representative-claim", "five_hour")
			h.Set("x-quota-snapshot-premium_interactions", "ent=300&ov=0.0&ovPerm=false&rem=88.7&rst=2026-12-31T00%3A00%3A00Z")
			_, _ = io.WriteString(w, `{"ok":true}`)
		case "/limited":
			h.Set("anthropic-ratelimit-unified-status", "rejected")
			h.Set("anthropic-ratelimit-unified-5h-status", "rejected")
			h.Set("anthropic-ratelimit-unified-5h-utilization", "1.0")
			h.Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}`)
		case "/stream":
			h.Set("Content-Type", "text/event-stream")
			h.Set("x-codex-primary-used-percent", "12.5")
			h.Set("x-codex-primary-window-minutes", "300")
			w.WriteHeader(http.StatusOK)
			for range 3 {
				_, _ = io.WriteString(w, "data: {}\n\n")
				w.(http.Flusher).Flush()
			}
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// quotaProxy is a proxy with one route, corp, in front of quotaUpstream,
// and the URL of its front.
func quotaProxy(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	up := quotaUpstream(t)
	s := newTestServer(t, Options{Upstreams: []Upstream{{Name: "corp", Target: claudeTarget{base: up.URL}, Tokens: newTokens("tok-A")}}})
	front := httptest.NewServer(s.Handler())
	t.Cleanup(front.Close)
	return s, front
}

func TestEventCarriesQuota(t *testing.T) {
	s, front := quotaProxy(t)
	events, cancel := s.Subscribe(8)
	defer cancel()

	tests := []struct {
		path    string
		status  int
		want    string // windows, comma-separated; "" for no quota
		overall quota.Status
	}{
		{"/corp/ok", 200, "5h,premium_interactions", quota.Allowed},
		{"/corp/limited", 429, "5h", quota.Rejected},
		{"/corp/stream", 200, "primary", quota.Allowed},
		{"/corp/plain", 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := front.Client().Post(front.URL+tc.path, "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			ev := <-events
			if tc.want == "" {
				if ev.Quota != nil {
					t.Fatalf("quota %+v from a response without quota headers", ev.Quota)
				}
				return
			}
			if ev.Quota == nil {
				t.Fatal("no quota on the event")
			}
			var names []string
			for _, w := range ev.Quota.Windows {
				names = append(names, w.Name)
			}
			if got := strings.Join(names, ","); got != tc.want || ev.Quota.Provider != "corp" || ev.Quota.Status != tc.overall {
				t.Errorf("quota = %s %s %s, want corp %s %s", ev.Quota.Provider, got, ev.Quota.Status, tc.want, tc.overall)
			}
		})
	}
}

// Reading the quota of a response without quota headers costs nothing.
func TestReadQuotaAllocs(t *testing.T) {
	s := newTestServer(t, Options{Upstreams: []Upstream{{Name: "claude", Target: claudeTarget{base: "http://127.0.0.1:1"}, Tokens: newTokens("t")}}})
	x := &exchange{route: s.routes["claude"], upstream: http.Header{
		"Content-Type": {"application/json"}, "Request-Id": {"req_1"}, "X-Ratelimit-Remaining-Requests": {"99"},
	}}
	start := s.clock.Now()
	if n := testing.AllocsPerRun(1000, func() { _ = s.readQuota(x, start) }); n != 0 {
		t.Errorf("readQuota allocates %v times on a plain response, want 0", n)
	}
}

func TestStatusIncludesQuota(t *testing.T) {
	snap := quota.Snapshot{Provider: "claude", Status: quota.Warning, Binding: "5h", Source: quota.FromHeaders,
		Windows: []quota.Window{{Name: "5h", UsedPercent: 80, Status: quota.Warning}}}
	for _, tc := range []struct {
		name string
		feed func(context.Context) []quota.Snapshot
		want string
	}{
		{"fed", func(context.Context) []quota.Snapshot { return []quota.Snapshot{snap} }, `"binding":"5h"`},
		{"none", nil, `"quota":[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, Options{Quota: tc.feed})
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8787/status", nil))
			var body map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			_ = json.Compact(&compact, rec.Body.Bytes())
			if rec.Code != 200 || body["quota"] == nil || !strings.Contains(compact.String(), tc.want) {
				t.Errorf("/status = %d %s", rec.Code, compact.String())
			}
		})
	}
}

// rerouteTarget sends /usage beside its base, like Codex's wham/usage.
type rerouteTarget struct{ codexTarget }

func (rerouteTarget) Reroute(base *url.URL, rest string) (*url.URL, string) {
	if rest != "/usage" {
		return base, rest
	}
	b := *base
	b.Path = strings.TrimSuffix(b.Path, "/codex")
	return &b, "/wham/usage"
}

func TestRerouterMovesPathsBesideTheBase(t *testing.T) {
	paths := make(chan string, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
		w.Header().Set("x-codex-primary-used-percent", "12")
		w.Header().Set("x-codex-primary-window-minutes", "300")
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(up.Close)
	s := newTestServer(t, Options{Upstreams: []Upstream{{Name: "codex", Target: rerouteTarget{codexTarget{base: up.URL + "/backend-api/codex"}}, Tokens: newTokens("tok")}}})
	for path, want := range map[string]string{"/codex/usage": "/backend-api/wham/usage", "/codex/responses": "/backend-api/codex/responses"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8787"+path, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		if got := <-paths; got != want {
			t.Errorf("%s reached the upstream as %s, want %s", path, got, want)
		}
	}
}

// accountsOf serves two named accounts with their own tokens.
type accountsOf map[string]*fakeTokens

func (a accountsOf) Account(_ context.Context, name string) (string, TokenSource, error) {
	if name == "" {
		name = "personal"
	}
	t, ok := a[name]
	if !ok {
		return "", nil, &accounts.UnknownError{Provider: "claude", Account: name}
	}
	return name, t, nil
}

// A response's quota names the account that served it, so each account
// keeps its own meters.
func TestQuotaNamesTheAccount(t *testing.T) {
	up := quotaUpstream(t)
	s := newTestServer(t, Options{Upstreams: []Upstream{{Name: "claude", Target: claudeTarget{base: up.URL},
		Accounts: accountsOf{"personal": newTokens("tok-P"), "work": newTokens("tok-W")}}}})
	events, cancel := s.Subscribe(4)
	defer cancel()
	for path, want := range map[string]string{"/claude/ok": "personal", "/claude@work/ok": "work"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787"+path, strings.NewReader(`{}`)))
		ev := <-events
		if rec.Code != 200 || ev.Quota == nil || ev.Quota.Account != want || ev.Quota.Provider != "claude" {
			t.Errorf("%s: %d, quota %+v; want account %q", path, rec.Code, ev.Quota, want)
		}
	}
}

// A quota reader hears each new reading, and nothing of the requests
// that brought none or repeated the last one.
func TestSubscribeQuotaHearsOnlyReadings(t *testing.T) {
	s, front := quotaProxy(t)
	readings, cancel := s.SubscribeQuota(8)
	defer cancel()
	events, cancelEvents := s.Subscribe(8)
	defer cancelEvents()
	for _, path := range []string{"/corp/plain", "/corp/ok", "/corp/ok", "/corp/plain", "/corp/stream"} {
		resp, err := front.Client().Post(front.URL+path, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		<-events // the request has ended, and its reading gone out with it
	}
	var got []string
	for len(readings) > 0 {
		q := <-readings
		if q.Provider != "corp" {
			t.Errorf("reading for %q, want corp", q.Provider)
		}
		var names []string
		for _, w := range q.Windows {
			names = append(names, w.Name)
		}
		got = append(got, strings.Join(names, ","))
	}
	if want := []string{"5h,premium_interactions", "primary"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("readings %q, want %q (the repeat and the plain answers bring none)", got, want)
	}
}

// A quota header that does not parse is skipped, named in the debug log,
// and changes nothing for the client; at info level it is not logged.
func TestMalformedQuotaIsLoggedAtDebug(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("anthropic-ratelimit-unified-5h-utilization", "lots")
		w.Header().Set("anthropic-ratelimit-unified-7d-utilization", "0.25")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(up.Close)
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		var logs syncBuffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))
		s := newTestServer(t, Options{Logger: logger, Upstreams: []Upstream{{Name: "corp", Target: claudeTarget{base: up.URL}, Tokens: newTokens("tok-A")}}})
		front := httptest.NewServer(s.Handler())
		events, cancel := s.Subscribe(1)
		resp, err := front.Client().Post(front.URL+"/corp/v1/messages", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ev := <-events
		cancel()
		front.Close()
		if resp.StatusCode != http.StatusOK || ev.Quota == nil || len(ev.Quota.Windows) != 1 || ev.Quota.Windows[0].Name != "7d" {
			t.Fatalf("status %d quota %+v, want 200 and the 7d window alone", resp.StatusCode, ev.Quota)
		}
		logged := strings.Contains(logs.String(), "anthropic-ratelimit-unified-5h-utilization=lots")
		if logged != (level == slog.LevelDebug) {
			t.Errorf("at %v the skipped value logged: %v\n%s", level, logged, logs.String())
		}
	}
}
