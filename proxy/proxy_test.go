package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a proxy in front of one fake upstream, both on loopback sockets.
type rig struct {
	up     *fake.Upstream
	upSrv  *httptest.Server
	tokens *fakeTokens
	srv    *Server
	proxy  *httptest.Server
}

func newRig(t *testing.T, upOpts fake.UpstreamOptions, opts Options, tokens ...string) *rig {
	t.Helper()
	upOpts.Record = true
	r := &rig{up: fake.NewUpstream(upOpts), tokens: newTokens(tokens...)}
	r.upSrv = httptest.NewServer(r.up)
	t.Cleanup(r.upSrv.Close)
	opts.Upstreams = append(opts.Upstreams,
		Upstream{Name: "claude", Target: claudeTarget{base: r.upSrv.URL}, Tokens: r.tokens},
		Upstream{Name: "codex", Target: codexTarget{base: r.upSrv.URL + "/backend-api/codex"}, Tokens: r.tokens},
	)
	r.srv = newTestServer(t, opts)
	r.proxy = httptest.NewServer(r.srv.Handler())
	t.Cleanup(r.proxy.Close)
	return r
}

func (r *rig) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := r.proxy.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

func (r *rig) req(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, r.proxy.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestForwardHeadersAndPath(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		header      map[string]string
		wantPath    string
		wantQuery   string
		wantEscaped string
		want        map[string]string // header → exact value upstream ("" = absent)
	}{
		{
			name: "claude strips client credentials and merges the oauth beta",
			path: "/claude/v1/messages?beta=true",
			header: map[string]string{
				"Authorization":   "Bearer client-placeholder",
				"X-Api-Key":       "sk-client-key",
				"Cookie":          "session=abc",
				"Anthropic-Beta":  "tools-2024-04-04,oauth-2025-04-20",
				"X-Forwarded-For": "10.1.2.3",
				"Forwarded":       "for=10.1.2.3",
				"X-Real-Ip":       "10.1.2.3",
				"Connection":      "X-Hop",
				"X-Hop":           "must-not-pass",
				"User-Agent":      "claude-cli/2.1.2 (external, cli)",
			},
			wantPath:  "/v1/messages",
			wantQuery: "beta=true",
			want: map[string]string{
				"Authorization":     "Bearer tok-A",
				"X-Api-Key":         "",
				"Cookie":            "",
				"Anthropic-Beta":    "oauth-2025-04-20,tools-2024-04-04",
				"Anthropic-Version": "2023-06-01",
				"X-Forwarded-For":   "",
				"X-Forwarded-Host":  "",
				"X-Forwarded-Proto": "",
				"Forwarded":         "",
				"X-Real-Ip":         "",
				"X-Hop":             "",
				"User-Agent":        "claude-cli/2.1.2 (external, cli)",
			},
		},
		{
			name:      "codex joins the base path and keeps the query",
			path:      "/codex/responses?a=1&b=two%20words",
			header:    map[string]string{"Authorization": "Bearer sk-placeholder", "Originator": "codex_cli_rs"},
			wantPath:  "/backend-api/codex/responses",
			wantQuery: "a=1&b=two%20words",
			want: map[string]string{
				"Authorization":      "Bearer tok-A",
				"Chatgpt-Account-Id": "acct-1",
				"Originator":         "codex_cli_rs",
			},
		},
		{
			name:        "escaped path segments stay escaped",
			path:        "/codex/files/a%2Fb",
			wantPath:    "/backend-api/codex/files/a/b",
			wantEscaped: "/backend-api/codex/files/a%2Fb",
			want:        map[string]string{"Authorization": "Bearer tok-A"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, fake.UpstreamOptions{}, Options{}, "tok-A")
			req := r.req(t, http.MethodPost, tc.path, `{"model":"m"}`)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, _ := r.do(t, req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			seen := r.up.Requests()
			if len(seen) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(seen))
			}
			got := seen[0]
			if got.EscapedPath != tc.wantEscaped && tc.wantEscaped != "" {
				t.Errorf("upstream escaped path = %q, want %q", got.EscapedPath, tc.wantEscaped)
			}
			if got.Path != tc.wantPath || got.RawQuery != tc.wantQuery {
				t.Errorf("upstream got %s?%s, want %s?%s", got.Path, got.RawQuery, tc.wantPath, tc.wantQuery)
			}
			if wantHost := strings.TrimPrefix(r.upSrv.URL, "http://"); got.Host != wantHost {
				t.Errorf("upstream Host = %q, want %q", got.Host, wantHost)
			}
			for k, v := range tc.want {
				if g := strings.Join(got.Header.Values(k), ","); g != v {
					t.Errorf("upstream header %s = %q, want %q", k, g, v)
				}
			}
			if string(got.Body) != `{"model":"m"}` {
				t.Errorf("upstream body = %q", got.Body)
			}
		})
	}
}

// TestStreamEventsArriveOneByOne gates the upstream: it may only write event
// n+1 after the client has read event n through the proxy. Any buffering in
// the proxy would deadlock until the deadline.
func TestStreamEventsArriveOneByOne(t *testing.T) {
	const deltas = 4
	total := deltas + 2
	read := make([]chan struct{}, total)
	for i := range read {
		read[i] = make(chan struct{})
	}
	gate := func(ctx context.Context, n int) error {
		if n == 0 {
			return nil
		}
		select {
		case <-read[n-1]:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r := newRig(t, fake.UpstreamOptions{Deltas: deltas, BeforeEvent: gate}, Options{}, "tok-A")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := r.req(t, http.MethodPost, "/claude/v1/messages", `{"stream":true}`).WithContext(ctx)
	resp, err := r.proxy.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	events := readEvents(resp.Body)
	for n := range total {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended after %d events, want %d", n, total)
			}
			if n == 0 && !strings.Contains(ev, "message_start") {
				t.Errorf("event 0 = %q, want message_start", ev)
			}
			close(read[n])
		case <-ctx.Done():
			t.Fatalf("event %d never reached the client: the proxy buffers the stream", n)
		}
	}
	for range events {
	}
}

// readEvents splits an SSE body into events ("\n\n"-terminated) on a channel.
func readEvents(body io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		var ev strings.Builder
		for sc.Scan() {
			if sc.Text() == "" {
				ch <- ev.String()
				ev.Reset()
				continue
			}
			ev.WriteString(sc.Text() + "\n")
		}
	}()
	return ch
}

func TestRetryAfterUpstream401(t *testing.T) {
	tests := []struct {
		name          string
		reject        []string
		refreshErr    error
		wantStatus    int
		wantCalls     int64
		wantRefreshes int
		wantToken     string // bearer on the last upstream call
		wantMsg       string
	}{
		{name: "refresh then retry succeeds", reject: []string{"tok-old"}, wantStatus: 200, wantCalls: 2, wantRefreshes: 1, wantToken: "Bearer tok-new"},
		{name: "second 401 passes through once", reject: []string{"tok-old", "tok-new"}, wantStatus: 401, wantCalls: 2, wantRefreshes: 1, wantToken: "Bearer tok-new", wantMsg: "invalid access token"},
		{name: "refresh needs login", reject: []string{"tok-old"}, refreshErr: &auth.Error{Provider: "claude", Op: "refresh", Kind: auth.ErrLoginRequired, Code: "invalid_grant"},
			wantStatus: 401, wantCalls: 1, wantRefreshes: 1, wantToken: "Bearer tok-old", wantMsg: "run: ccproxy-tui auth login claude"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, fake.UpstreamOptions{}, Options{}, "tok-old", "tok-new")
			r.tokens.refreshErr = tc.refreshErr
			for _, tok := range tc.reject {
				r.up.RejectToken(tok)
			}
			events, cancel := r.srv.Subscribe(4)
			defer cancel()
			const body = `{"model":"m","messages":[{"role":"user","content":"hello, replay me"}]}`
			resp, got := r.do(t, r.req(t, http.MethodPost, "/claude/v1/messages", body))
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tc.wantStatus, got)
			}
			if n := r.up.Calls(); n != tc.wantCalls {
				t.Errorf("upstream calls = %d, want %d", n, tc.wantCalls)
			}
			if n := r.tokens.refreshCount(); n != tc.wantRefreshes {
				t.Errorf("refreshes = %d, want %d", n, tc.wantRefreshes)
			}
			seen := r.up.Requests()
			last := seen[len(seen)-1]
			if a := last.Header.Get("Authorization"); a != tc.wantToken {
				t.Errorf("last upstream Authorization = %q, want %q", a, tc.wantToken)
			}
			for i, s := range seen {
				if string(s.Body) != body {
					t.Errorf("upstream call %d body = %q, want it intact", i, s.Body)
				}
				if b := s.Header.Get("Anthropic-Beta"); b != "oauth-2025-04-20" {
					t.Errorf("upstream call %d anthropic-beta = %q", i, b)
				}
			}
			if tc.wantMsg != "" && !strings.Contains(string(got), tc.wantMsg) {
				t.Errorf("body %s does not say %q", got, tc.wantMsg)
			}
			ev := <-events
			if !ev.Retried || ev.Status != tc.wantStatus {
				t.Errorf("event = %+v, want Retried with status %d", ev, tc.wantStatus)
			}
			if st := r.srv.Stats(); st.Retries != 1 {
				t.Errorf("Stats().Retries = %d, want 1", st.Retries)
			}
		})
	}
}

func TestErrorShapes(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr
	}()
	loginErr := &auth.Error{Provider: "claude", Op: "token", Kind: auth.ErrLoginRequired}
	tests := []struct {
		name       string
		path       string
		body       io.Reader
		tokensErr  error
		noTokens   bool
		deadBase   bool
		wantStatus int
		wantShape  string // anthropic or openai
		wantType   string
		wantMsg    string
		wantHeader [2]string
	}{
		{name: "not logged in, anthropic shape", path: "/claude/v1/messages", tokensErr: loginErr, wantStatus: 401, wantShape: FormatAnthropic, wantType: "authentication_error", wantMsg: "run: ccproxy-tui auth login claude"},
		{name: "no credentials, openai shape", path: "/codex/responses", noTokens: true, wantStatus: 401, wantShape: FormatOpenAI, wantType: "authentication_error", wantMsg: "run: ccproxy-tui auth login codex"},
		{name: "transient refresh failure", path: "/claude/v1/messages", tokensErr: &auth.Error{Provider: "claude", Op: "refresh", Kind: auth.ErrTransient, RetryAfter: 30 * time.Second},
			wantStatus: 503, wantShape: FormatAnthropic, wantType: "overloaded_error", wantMsg: "try again", wantHeader: [2]string{"Retry-After", "30"}},
		{name: "unknown provider lists routes", path: "/gemini/v1/models", wantStatus: 404, wantShape: FormatOpenAI, wantType: "invalid_request_error", wantMsg: "/claude/, /codex/"},
		{name: "body over the limit", path: "/claude/v1/messages", body: strings.NewReader(strings.Repeat("x", 2048)), wantStatus: 413, wantShape: FormatAnthropic, wantType: "request_too_large", wantMsg: "1024 bytes"},
		{name: "chunked body over the limit", path: "/codex/responses", body: io.MultiReader(strings.NewReader(strings.Repeat("y", 2048))), wantStatus: 413, wantShape: FormatOpenAI, wantType: "invalid_request_error", wantMsg: "1024 bytes"},
		{name: "upstream unreachable", path: "/claude/v1/messages", deadBase: true, wantStatus: 502, wantShape: FormatAnthropic, wantType: "api_error", wantMsg: "unreachable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tokens := newTokens("tok-A")
			if tc.noTokens {
				tokens = newTokens()
			}
			tokens.err = tc.tokensErr
			up := httptest.NewServer(fake.NewUpstream(fake.UpstreamOptions{}))
			defer up.Close()
			base := up.URL
			if tc.deadBase {
				base = closed
			}
			s := newTestServer(t, Options{MaxBody: 1024, Upstreams: []Upstream{
				{Name: "claude", Target: claudeTarget{base: base}, Tokens: tokens},
				{Name: "codex", Target: codexTarget{base: base}, Tokens: tokens},
			}})
			ps := httptest.NewServer(s.Handler())
			defer ps.Close()
			body := tc.body
			if body == nil {
				body = strings.NewReader(`{}`)
			}
			resp, err := ps.Client().Post(ps.URL+tc.path, "application/json", body)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.wantStatus, raw)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if tc.wantHeader[0] != "" && resp.Header.Get(tc.wantHeader[0]) != tc.wantHeader[1] {
				t.Errorf("%s = %q, want %q", tc.wantHeader[0], resp.Header.Get(tc.wantHeader[0]), tc.wantHeader[1])
			}
			kind, msg := parseErrorShape(t, tc.wantShape, raw)
			if kind != tc.wantType {
				t.Errorf("error type = %q, want %q (%s)", kind, tc.wantType, raw)
			}
			if !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tc.wantMsg)
			}
			if strings.Contains(string(raw), "tok-A") {
				t.Errorf("error body leaks the token: %s", raw)
			}
		})
	}
}

// parseErrorShape decodes raw strictly in the given shape.
func parseErrorShape(t *testing.T, shape string, raw []byte) (kind, msg string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if shape == FormatAnthropic {
		var b anthropicBody
		if err := dec.Decode(&b); err != nil || b.Type != "error" {
			t.Fatalf("not an Anthropic error (%v): %s", err, raw)
		}
		return b.Error.Type, b.Error.Message
	}
	var b openAIBody
	if err := dec.Decode(&b); err != nil || b.Error.Message == "" || b.Error.Code == "" {
		t.Fatalf("not an OpenAI error (%v): %s", err, raw)
	}
	return b.Error.Type, b.Error.Message
}

func TestDoorRefusesForeignHostAndOrigin(t *testing.T) {
	tests := []struct {
		name   string
		host   string
		header map[string]string
		want   int
	}{
		{name: "loopback ip", host: "127.0.0.1:8787", want: 200},
		{name: "localhost any port", host: "localhost:9999", want: 200},
		{name: "ipv6 loopback", host: "[::1]:8787", want: 200},
		{name: "listen host without port", host: "127.0.0.1", want: 200},
		{name: "dns rebinding host", host: "evil.example:8787", want: 403},
		{name: "rebinding host without port", host: "attacker.test", want: 403},
		{name: "lan address", host: "192.168.1.20:8787", want: 403},
		{name: "loopback origin", host: "localhost:8787", header: map[string]string{"Origin": "http://localhost:3000"}, want: 200},
		{name: "cross-site origin", host: "127.0.0.1:8787", header: map[string]string{"Origin": "https://evil.example"}, want: 403},
		{name: "opaque null origin", host: "127.0.0.1:8787", header: map[string]string{"Origin": "null"}, want: 403},
		{name: "sec-fetch-site cross-site", host: "127.0.0.1:8787", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 403},
		{name: "sec-fetch-site same-origin", host: "127.0.0.1:8787", header: map[string]string{"Sec-Fetch-Site": "same-origin"}, want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, fake.UpstreamOptions{}, Options{}, "tok-A")
			req := r.req(t, http.MethodPost, "/claude/v1/messages", `{}`)
			req.Host = tc.host
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, body := r.do(t, req)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if tc.want == 403 {
				if n := r.up.Calls(); n != 0 {
					t.Errorf("refused request reached the upstream (%d calls)", n)
				}
				parseErrorShape(t, FormatAnthropic, body)
			}
		})
	}
}

func TestNewRefusesNonLoopbackWithoutKey(t *testing.T) {
	tests := []struct {
		listen, key string
		ok          bool
	}{
		{"", "", true},
		{"127.0.0.1:8787", "", true},
		{"localhost:8787", "", true},
		{"[::1]:8787", "", true},
		{"0.0.0.0:8787", "", false},
		{":8787", "", false},
		{"192.168.1.5:8787", "", false},
		{"0.0.0.0:8787", "s3cret", true},
		{"no-port", "", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s key=%t", tc.listen, tc.key != ""), func(t *testing.T) {
			_, err := New(Options{Listen: tc.listen, APIKey: tc.key})
			if (err == nil) != tc.ok {
				t.Fatalf("New(%q) err = %v, want ok=%t", tc.listen, err, tc.ok)
			}
			if err != nil && !strings.Contains(tc.listen, "no-port") && !strings.Contains(err.Error(), "api_key") {
				t.Errorf("error %q does not say to set api_key", err)
			}
		})
	}
}

func TestAPIKeyEnforced(t *testing.T) {
	const key = "proxy-key-0123456789"
	tests := []struct {
		name   string
		path   string
		header map[string]string
		want   int
	}{
		{name: "no key", path: "/claude/v1/messages", want: 401},
		{name: "wrong bearer", path: "/claude/v1/messages", header: map[string]string{"Authorization": "Bearer nope"}, want: 401},
		{name: "wrong x-api-key", path: "/claude/v1/messages", header: map[string]string{"X-Api-Key": key + "x"}, want: 401},
		{name: "bearer", path: "/claude/v1/messages", header: map[string]string{"Authorization": "Bearer " + key}, want: 200},
		{name: "x-api-key", path: "/codex/responses", header: map[string]string{"X-Api-Key": key}, want: 200},
		{name: "key checked before routing", path: "/nope/x", want: 401},
		{name: "healthz open", path: "/healthz", want: 200},
		{name: "status needs key", path: "/status", want: 401},
		{name: "status with key", path: "/status", header: map[string]string{"X-Api-Key": key}, want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, fake.UpstreamOptions{}, Options{APIKey: key}, "tok-A")
			method := http.MethodPost
			if tc.path == "/healthz" || tc.path == "/status" {
				method = http.MethodGet
			}
			req := r.req(t, method, tc.path, `{}`)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, body := r.do(t, req)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if strings.Contains(string(body), key) {
				t.Errorf("response echoes the api key")
			}
			for _, s := range r.up.Requests() {
				if strings.Contains(s.Header.Get("Authorization"), key) || s.Header.Get("X-Api-Key") != "" {
					t.Errorf("proxy api key forwarded upstream")
				}
			}
			if tc.want == 401 && tc.path != "/status" && r.up.Calls() != 0 {
				t.Errorf("unauthenticated request reached the upstream")
			}
		})
	}
}

// TestClientDisconnectCancelsUpstream: a client that leaves mid-stream ends
// the upstream request; goleak in TestMain proves no goroutine stays behind.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	upstreamGone := make(chan struct{})
	gate := func(ctx context.Context, n int) error {
		if n < 2 {
			return nil
		}
		<-ctx.Done() // hold the stream open until the proxy cancels it
		close(upstreamGone)
		return ctx.Err()
	}
	r := newRig(t, fake.UpstreamOptions{BeforeEvent: gate}, Options{}, "tok-A")
	events, cancelSub := r.srv.Subscribe(4)
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	req := r.req(t, http.MethodPost, "/claude/v1/messages", `{"stream":true}`).WithContext(ctx)
	resp, err := r.proxy.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	evs := readEvents(resp.Body)
	<-evs
	<-evs
	cancel()
	for range evs {
	}
	resp.Body.Close()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	select {
	case <-upstreamGone:
	case <-timeout.C:
		t.Fatal("upstream request not cancelled after the client left")
	}
	select {
	case ev := <-events:
		if ev.Status != StatusClientClosed || ev.Provider != "claude" {
			t.Errorf("event = %+v, want status %d for claude", ev, StatusClientClosed)
		}
	case <-timeout.C:
		t.Fatal("no event for the abandoned stream")
	}
	r.proxy.CloseClientConnections()
}

func TestStartStopStartSamePort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newTestServer(t, Options{Listen: addr})
	ctx := context.Background()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for round := range 2 {
		if err := s.Start(ctx); err != nil {
			t.Fatalf("round %d Start: %v", round, err)
		}
		if !s.Running() || s.URL() != "http://"+addr {
			t.Fatalf("round %d: Running=%t URL=%q", round, s.Running(), s.URL())
		}
		if err := s.Start(ctx); err == nil {
			t.Fatalf("second Start while running succeeded")
		}
		resp, err := client.Get(s.URL() + "/healthz")
		if err != nil {
			t.Fatalf("round %d healthz: %v", round, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("healthz = %d", resp.StatusCode)
		}
		stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = s.Stop(stopCtx)
		cancel()
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if s.Running() || s.URL() != "" {
			t.Fatalf("after Stop: Running=%t URL=%q", s.Running(), s.URL())
		}
		if _, err := client.Get("http://" + addr + "/healthz"); err == nil {
			t.Fatalf("port still answers after Stop")
		}
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop when stopped: %v", err)
	}
}

// TestStopCutsStreamsAtDeadline: Shutdown waits for in-flight streams only
// until the deadline, then Stop closes them and still frees the port.
func TestStopCutsStreamsAtDeadline(t *testing.T) {
	started := make(chan struct{})
	gate := func(ctx context.Context, n int) error {
		if n == 1 {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	up := httptest.NewServer(fake.NewUpstream(fake.UpstreamOptions{BeforeEvent: gate}))
	defer up.Close()
	s := newTestServer(t, Options{Listen: "127.0.0.1:0", Upstreams: []Upstream{{Name: "claude", Target: claudeTarget{base: up.URL}, Tokens: newTokens("t")}}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.URL()+"/claude/v1/messages", "application/json", strings.NewReader(`{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // deadline already passed: Stop must cut the stream, not hang
	if err := s.Stop(ctx); err == nil {
		t.Errorf("Stop with an open stream and an expired deadline returned nil")
	}
	if s.Running() {
		t.Errorf("still running after Stop")
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	http.DefaultClient.CloseIdleConnections()
}

func TestEventsAndStatus(t *testing.T) {
	r := newRig(t, fake.UpstreamOptions{}, Options{Status: func(context.Context) []auth.Status {
		return []auth.Status{{Provider: "claude", Authenticated: true, AccessTokenPreview: "tok-A"}}
	}}, "tok-A")
	events, cancel := r.srv.Subscribe(1)
	defer cancel()
	slow, cancelSlow := r.srv.Subscribe(1) // never read: must not block anyone
	defer cancelSlow()
	_ = slow

	for range 3 {
		resp, _ := r.do(t, r.req(t, http.MethodPost, "/claude/v1/messages?key=secret-in-query", `{}`))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	ev := <-events
	if ev.Provider != "claude" || ev.Method != "POST" || ev.Path != "/claude/v1/messages" || ev.Status != 200 || ev.Bytes == 0 || ev.Retried {
		t.Errorf("event = %+v", ev)
	}
	st := r.srv.Stats()
	if st.Requests != 3 || st.Errors != 0 || st.Dropped < 2 || st.Bytes < 3*ev.Bytes {
		t.Errorf("Stats = %+v, want 3 requests, ≥2 dropped", st)
	}

	resp, body := r.do(t, r.req(t, http.MethodGet, "/status", ""))
	if resp.StatusCode != 200 {
		t.Fatalf("/status = %d", resp.StatusCode)
	}
	var got struct {
		Providers []auth.Status `json:"providers"`
		Proxy     struct {
			Requests int64  `json:"requests"`
			Errors   int64  `json:"errors"`
			Retries  int64  `json:"retries"`
			Bytes    int64  `json:"bytes"`
			Uptime   *int64 `json:"uptime_seconds"`
		} `json:"proxy"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("/status JSON: %v: %s", err, body)
	}
	if len(got.Providers) != 1 || got.Providers[0].Provider != "claude" || got.Proxy.Requests != 3 || got.Proxy.Bytes == 0 || got.Proxy.Uptime == nil {
		t.Errorf("/status = %s", body)
	}
	cancel()
	if _, ok := <-events; ok {
		// drain the one buffered event, then the channel must be closed
		if _, ok := <-events; ok {
			t.Errorf("events channel open after cancel")
		}
	}
}

func TestNewRejectsBadUpstreams(t *testing.T) {
	tok := newTokens("t")
	tests := []struct {
		name string
		ups  []Upstream
	}{
		{"reserved name", []Upstream{{Name: "status", Target: claudeTarget{}, Tokens: tok}}},
		{"slash in name", []Upstream{{Name: "a/b", Target: claudeTarget{}, Tokens: tok}}},
		{"duplicate", []Upstream{{Name: "a", Target: claudeTarget{}, Tokens: tok}, {Name: "a", Target: claudeTarget{}, Tokens: tok}}},
		{"no tokens", []Upstream{{Name: "a", Target: claudeTarget{}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(Options{Upstreams: tc.ups}); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

// countingConn counts the writes made on an upstream connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A buffered request goes upstream in one write, headers and body together,
// rather than the headers flushed on their own first; a retry after a 401
// does the same.
func TestRequestGoesUpstreamInOneWrite(t *testing.T) {
	r := newRig(t, fake.UpstreamOptions{}, Options{}, "tok-old", "tok-new")
	var writes atomic.Int64
	tr := r.srv.rp.Transport.(*failover).next.(*retrier).next.(*http.Transport)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, writes: &writes}, nil
	}
	const body = `{"model":"m","messages":[{"role":"user","content":"one write"}]}`
	for i, want := range []int64{1, 2} {
		if i == 1 {
			r.up.RejectToken("tok-old") // the second request is sent twice
		}
		writes.Store(0)
		resp, got := r.do(t, r.req(t, http.MethodPost, "/claude/v1/messages", body))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d (%s)", i, resp.StatusCode, got)
		}
		if n := writes.Load(); n != want {
			t.Errorf("request %d: %d writes upstream, want %d", i, n, want)
		}
	}
	for i, s := range r.up.Requests() {
		if string(s.Body) != body {
			t.Errorf("upstream call %d body = %q, want it intact", i, s.Body)
		}
	}
}

// A JSON answer reaches the client before the proxy records it (the
// recording waits here until the client has read the whole body), and is
// counted in the proxy's stats before it goes.
func TestAnswerArrivesBeforeItIsRecorded(t *testing.T) {
	read := make(chan struct{})
	recorded := make(chan Event, 1)
	r := newRig(t, fake.UpstreamOptions{}, Options{Record: func(ev Event) {
		select {
		case <-read:
		case <-time.After(2 * time.Second):
			t.Error("the client did not have its answer while the proxy recorded it")
		}
		recorded <- ev
	}}, "tok-A")
	resp, body := r.do(t, r.req(t, http.MethodPost, "/claude/v1/messages", `{"model":"m","messages":[]}`))
	// Counted already: a client that has its answer finds it in /status.
	if st := r.srv.Stats(); st.Requests != 1 || st.InFlight != 0 {
		t.Errorf("Stats while recording = %+v, want 1 request, none in flight", st)
	}
	close(read)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"usage"`)) {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	select {
	case ev := <-recorded:
		if ev.Status != http.StatusOK || ev.Usage.Input == 0 {
			t.Errorf("recorded %+v, want a 200 with its tokens", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not recorded")
	}
}
