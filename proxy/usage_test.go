package proxy

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

func nextEvent(t *testing.T, events <-chan Event) Event {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	select {
	case ev := <-events:
		return ev
	case <-timeout.C:
		t.Fatal("no event")
		return Event{}
	}
}

// TestEventCarriesTheReportedUsage: each API family's usage, JSON and
// streamed, reaches the event exactly as the upstream reported it, with the
// model from the request body.
func TestEventCarriesTheReportedUsage(t *testing.T) {
	r := newRig(t, fake.UpstreamOptions{Deltas: 3}, Options{}, "tok-A")
	events, cancel := r.srv.Subscribe(8)
	defer cancel()
	for _, tc := range []struct{ name, path, body string }{
		{"anthropic json", "/claude/v1/messages", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`},
		{"anthropic stream", "/claude/v1/messages", `{"model":"claude-opus-4-1","stream":true,"messages":[{"role":"user","content":"hello there"}]}`},
		{"chat json", "/codex/chat/completions", `{"model":"gpt-4.1","messages":[]}`},
		{"chat stream", "/codex/chat/completions", `{"model":"gpt-4.1-mini","stream":true,"stream_options":{"include_usage":true}}`},
		{"responses json", "/codex/responses", `{"model":"gpt-5-codex","input":"x"}`},
		{"responses stream", "/codex/responses", `{"model":"gpt-5-codex","stream":true,"input":"a longer input"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.up.Reported()
			resp, _ := r.do(t, r.req(t, http.MethodPost, tc.path+"?q=1", tc.body))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			want := r.up.Reported()
			want = usage.Tokens{Input: want.Input - before.Input, Output: want.Output - before.Output,
				CacheRead: want.CacheRead - before.CacheRead, CacheCreation: want.CacheCreation - before.CacheCreation}
			ev := nextEvent(t, events)
			if ev.Usage != want || !ev.UsageSeen {
				t.Errorf("usage %+v (seen %v), upstream reported %+v", ev.Usage, ev.UsageSeen, want)
			}
			if want.Input == 0 || want.Output == 0 || want.CacheRead == 0 {
				t.Errorf("the fake upstream reported too little to prove anything: %+v", want)
			}
			if ev.Model == "" || ev.Model != usage.Model([]byte(tc.body)) || ev.BytesIn != int64(len(tc.body)) || ev.ErrorKind != "" {
				t.Errorf("event %+v", ev)
			}
		})
	}
}

func TestErrorKinds(t *testing.T) {
	r := newRig(t, fake.UpstreamOptions{}, Options{MaxBody: 64}, "tok-A")
	events, cancel := r.srv.Subscribe(8)
	defer cancel()
	r.up.RejectToken("tok-A") // and there is no second token: the retry gets 401 again
	for _, tc := range []struct{ name, path, body, want string }{
		{"upstream error passes through", "/claude/v1/messages", `{}`, "upstream"},
		{"proxy's own answer", "/claude/v1/messages", `{"x":"` + string(make([]byte, 100)) + `"}`, "request_too_large"},
		{"no such provider", "/nope/v1", ``, "unknown_provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.do(t, r.req(t, http.MethodPost, tc.path, tc.body))
			if ev := nextEvent(t, events); ev.ErrorKind != tc.want || ev.UsageSeen {
				t.Errorf("event %+v, want error kind %q and no usage", ev, tc.want)
			}
		})
	}
}

// TestTimeToFirstByte: TTFB is measured to the first byte the client got,
// Duration to the end, on the proxy's clock.
func TestTimeToFirstByte(t *testing.T) {
	clock := clockwork.NewFakeClock()
	firstRead := make(chan struct{})
	gate := func(ctx context.Context, n int) error {
		switch n {
		case 0:
			clock.Advance(30 * time.Millisecond)
		case 1:
			select { // the client has the first event: TTFB is taken
			case <-firstRead:
			case <-ctx.Done():
				return ctx.Err()
			}
			clock.Advance(70 * time.Millisecond)
		}
		return nil
	}
	r := newRig(t, fake.UpstreamOptions{Deltas: 2, BeforeEvent: gate}, Options{Clock: clock}, "tok-A")
	events, cancel := r.srv.Subscribe(1)
	defer cancel()
	resp, err := r.proxy.Client().Do(r.req(t, http.MethodPost, "/claude/v1/messages", `{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs := readEvents(resp.Body)
	<-evs
	close(firstRead)
	for range evs {
	}
	ev := nextEvent(t, events)
	if ev.TTFB != 30*time.Millisecond || ev.Duration != 100*time.Millisecond {
		t.Errorf("TTFB %v duration %v, want 30ms and 100ms", ev.TTFB, ev.Duration)
	}
}

// TestAbandonedStreamKeepsWhatWasSeen: the client leaves after
// message_start; the event has its input tokens.
func TestAbandonedStreamKeepsWhatWasSeen(t *testing.T) {
	gate := func(ctx context.Context, n int) error {
		if n < 2 {
			return nil
		}
		<-ctx.Done()
		return ctx.Err()
	}
	r := newRig(t, fake.UpstreamOptions{BeforeEvent: gate}, Options{}, "tok-A")
	events, cancelSub := r.srv.Subscribe(1)
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	body := `{"model":"claude-haiku-4-5","stream":true}`
	resp, err := r.proxy.Client().Do(r.req(t, http.MethodPost, "/claude/v1/messages", body).WithContext(ctx))
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
	ev := nextEvent(t, events)
	if ev.Status != StatusClientClosed || ev.ErrorKind != "client_closed" {
		t.Errorf("status %d kind %q, want %d client_closed", ev.Status, ev.ErrorKind, StatusClientClosed)
	}
	want := r.up.Reported() // the fake counts message_start's usage once it was flushed
	if !ev.UsageSeen || ev.Usage != want || want.Input == 0 || want.Output != 1 {
		t.Errorf("usage %+v, want what message_start reported: %+v", ev.Usage, want)
	}
	r.proxy.CloseClientConnections()
}

// TestUpstreamCutMidStream: the upstream's connection breaks after
// message_start; the request is recorded as cut, with that event's usage.
func TestUpstreamCutMidStream(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":40,\"output_tokens\":1}}}\n\n"))
		http.NewResponseController(w).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, not a clean end
			}
			conn.Close()
		}
	}))
	defer upstream.Close()
	s := newTestServer(t, Options{Upstreams: []Upstream{{Name: "claude", Target: claudeTarget{base: upstream.URL}, Tokens: newTokens("tok-A")}}})
	px := httptest.NewServer(s.Handler())
	defer px.Close()
	events, cancel := s.Subscribe(1)
	defer cancel()
	resp, err := px.Client().Post(px.URL+"/claude/v1/messages", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for err == nil {
		_, err = resp.Body.Read(buf)
	}
	resp.Body.Close()
	if errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	ev := nextEvent(t, events)
	if ev.ErrorKind != "upstream_cut" || ev.Usage != (usage.Tokens{Input: 40, Output: 1}) {
		t.Errorf("event %+v, want upstream_cut with message_start's usage", ev)
	}
}

// TestGzipAnswersAreCounted: a client that accepts gzip still has its
// usage counted; the upstream's compressed answer reaches it inflated.
func TestGzipAnswersAreCounted(t *testing.T) {
	const reply = `{"id":"msg_1","type":"message","usage":{"input_tokens":21,"output_tokens":8,"cache_read_input_tokens":300}}`
	var sawAE string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAE = r.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(sawAE, "gzip") {
			_, _ = io.WriteString(w, reply)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, reply)
		_ = zw.Close()
	}))
	defer upstream.Close()
	s := newTestServer(t, Options{Upstreams: []Upstream{{Name: "claude", Target: claudeTarget{base: upstream.URL}, Tokens: newTokens("tok-A")}}})
	px := httptest.NewServer(s.Handler())
	defer px.Close()
	events, cancel := s.Subscribe(1)
	defer cancel()
	req, _ := http.NewRequest(http.MethodPost, px.URL+"/claude/v1/messages", strings.NewReader(`{"model":"m"}`))
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	resp, err := px.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != reply || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("client got %q (Content-Encoding %q)", body, resp.Header.Get("Content-Encoding"))
	}
	if sawAE != "gzip" {
		t.Errorf("upstream saw Accept-Encoding %q, want the transport's own gzip", sawAE)
	}
	if ev := nextEvent(t, events); ev.Usage != (usage.Tokens{Input: 21, Output: 8, CacheRead: 300}) {
		t.Errorf("usage %+v", ev.Usage)
	}
}
