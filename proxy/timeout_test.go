package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// stallRig is a proxy on a fake clock in front of an upstream handler the
// test writes, for the slow answer, the silent stream and the reset.
type stallRig struct {
	clock  *clockwork.FakeClock
	srv    *Server
	proxy  *httptest.Server
	events <-chan Event
}

func newStallRig(t *testing.T, opts Options, upstream http.HandlerFunc) *stallRig {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	r := &stallRig{clock: clockwork.NewFakeClock()}
	opts.Clock = r.clock
	opts.Upstreams = []Upstream{{Name: "claude", Target: claudeTarget{base: up.URL}, Tokens: newTokens("tok-A")}}
	r.srv = newTestServer(t, opts)
	var cancel func()
	r.events, cancel = r.srv.Subscribe(8)
	t.Cleanup(cancel)
	r.proxy = httptest.NewServer(r.srv.Handler())
	t.Cleanup(func() { r.proxy.CloseClientConnections(); r.proxy.Close() })
	return r
}

func (r *stallRig) post(t *testing.T, body string) (*http.Response, error) {
	t.Helper()
	return r.proxy.Client().Post(r.proxy.URL+"/claude/v1/messages", "application/json", strings.NewReader(body))
}

func (r *stallRig) event(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no request event")
	}
	return Event{}
}

// An upstream that sends no headers within the idle timeout is cut and
// the client gets a 504 in the provider's error shape.
func TestIdleUpstreamBeforeHeadersIs504(t *testing.T) {
	released := make(chan struct{})
	r := newStallRig(t, Options{IdleTimeout: time.Minute}, func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-req.Context().Done():
		case <-released:
		}
	})
	defer close(released)
	type answer struct {
		resp *http.Response
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := r.post(t, `{"model":"m"}`)
		got <- answer{resp, err}
	}()
	// The watchdog is armed once the attempt is under way.
	if err := r.clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	// A non-streaming answer sends its headers only when it is complete:
	// a minute of idle timeout does not cut it, ten minutes do.
	r.clock.Advance(AnswerWait - time.Second)
	select {
	case a := <-got:
		t.Fatalf("cut before the wait for an answer: %v %v", a.resp, a.err)
	default:
	}
	r.clock.Advance(time.Second)
	a := <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	body, _ := io.ReadAll(a.resp.Body)
	a.resp.Body.Close()
	kind, msg := parseErrorShape(t, FormatAnthropic, body)
	if a.resp.StatusCode != http.StatusGatewayTimeout || kind != "api_error" || !strings.Contains(msg, "no answer within 10m0s") || !strings.Contains(msg, "idle_timeout") {
		t.Errorf("answer %d %s: %q", a.resp.StatusCode, kind, msg)
	}
	if ev := r.event(t); ev.Status != http.StatusGatewayTimeout {
		t.Errorf("event status %d, want 504", ev.Status)
	}
}

// A stream that falls silent for the idle timeout after its headers ends,
// and is recorded as a 504, not as a client that left.
func TestIdleStreamIsCut(t *testing.T) {
	r := newStallRig(t, Options{IdleTimeout: time.Minute}, func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "event: message_start\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		<-req.Context().Done()
	})
	resp, err := r.post(t, `{"model":"m","stream":true}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "event: message_start") {
		t.Fatalf("first line %q", line)
	}
	if err := r.clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Minute)
	// The stream ends (the proxy aborts it) instead of hanging.
	io.ReadAll(br)
	if ev := r.event(t); ev.Status != http.StatusGatewayTimeout || ev.ErrorKind != "upstream_timeout" {
		t.Errorf("event status %d kind %q, want 504 upstream_timeout", ev.Status, ev.ErrorKind)
	}
}

// A stream that keeps sending is never cut, however long it lasts.
func TestBusyStreamIsNotCut(t *testing.T) {
	next := make(chan struct{})
	r := newStallRig(t, Options{IdleTimeout: time.Minute}, func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for range next {
			io.WriteString(w, "data: {}\n\n")
			w.(http.Flusher).Flush()
		}
	})
	resp, err := r.post(t, `{"model":"m","stream":true}`)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for range 5 {
		if err := r.clock.BlockUntilContext(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(50 * time.Second) // 4m10s in all, never a minute of silence
		next <- struct{}{}
		if line, err := br.ReadString('\n'); err != nil || line != "data: {}\n" {
			t.Fatalf("stream cut while busy: %q %v", line, err)
		}
		br.ReadString('\n')
	}
	close(next)
	io.ReadAll(br)
	resp.Body.Close()
	if ev := r.event(t); ev.Status != http.StatusOK {
		t.Errorf("event status %d, want 200", ev.Status)
	}
}

// An upstream that resets the connection mid-stream is a 502 in the
// record, not a 499: the client did not leave.
func TestUpstreamResetIs502(t *testing.T) {
	r := newStallRig(t, Options{}, func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		conn.Close()
	})
	resp, err := r.post(t, `{"model":"m","stream":true}`)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if ev := r.event(t); ev.Status != http.StatusBadGateway || ev.ErrorKind != "upstream_cut" {
		t.Errorf("event status %d kind %q, want 502 upstream_cut", ev.Status, ev.ErrorKind)
	}
}

// A request body that does not arrive within the body timeout is a 408;
// the trickling client cannot hold the connection open.
func TestTrickledBodyTimesOut(t *testing.T) {
	r := newStallRig(t, Options{BodyTimeout: 200 * time.Millisecond}, func(w http.ResponseWriter, req *http.Request) {
		t.Error("a body that never arrived was forwarded")
	})
	conn, err := net.Dial("tcp", r.proxy.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers promise 100 bytes; only a few ever come.
	io.WriteString(conn, "POST /claude/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"mo")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d %s, want 408", resp.StatusCode, body)
	}
}

// A second proxy on an address our own proxy already serves says who
// serves it instead of failing to bind; any other program on the port is
// an ordinary bind error.
func TestStartFindsOurProxyAlreadyServing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	first := newTestServer(t, Options{Listen: addr})
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer first.Stop(context.Background())
	second := newTestServer(t, Options{Listen: addr})
	err = second.Start(context.Background())
	var se *ServingElsewhereError
	if !errors.As(err, &se) || se.URL != "http://"+addr || se.PID != os.Getpid() {
		t.Fatalf("second Start = %v, want a *ServingElsewhereError naming http://%s and pid %d", err, addr, os.Getpid())
	}
	if second.Running() {
		t.Error("the second proxy claims to run itself")
	}

	squatter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	go func() {
		// Something that is not a ccproxy-tui: it answers 200 without
		// saying who it is.
		_ = http.Serve(squatter, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") }))
	}()
	other := newTestServer(t, Options{Listen: squatter.Addr().String()})
	if err := other.Start(context.Background()); err == nil || errors.As(err, &se) {
		t.Errorf("Start on a port another program holds = %v, want a plain bind error", err)
	}
}

// One timer watches every attempt in flight: it cuts the attempt that fell
// silent, spares the one that spoke meanwhile, and is gone once no
// attempt is left.
func TestIdleWatchCutsOnlyTheSilentAttempt(t *testing.T) {
	clock := clockwork.NewFakeClock()
	w := newIdleWatch(clock, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cut := make(chan string, 4)
	cutter := func(name string) context.CancelCauseFunc {
		return func(cause error) {
			if !errors.Is(cause, errIdle) {
				t.Errorf("%s cut with %v, want errIdle", name, cause)
			}
			cut <- name
		}
	}
	var quiet, busy attempt
	// Both have their headers: the idle timeout is theirs from then on.
	w.start(&quiet, cutter("quiet"))
	w.answered(&quiet)
	clock.Advance(30 * time.Second)
	w.start(&busy, cutter("busy"))
	w.answered(&busy)
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal("one timer for two attempts:", err)
	}
	clock.Advance(20 * time.Second) // 0:50
	w.kick(&busy)
	clock.Advance(10 * time.Second) // 1:00, a minute of silence from quiet
	select {
	case name := <-cut:
		if name != "quiet" {
			t.Fatalf("%s cut at 1:00, want quiet", name)
		}
	case <-ctx.Done():
		t.Fatal("the silent attempt was not cut")
	}
	if !quiet.fired.Load() || busy.fired.Load() {
		t.Errorf("fired: quiet %v busy %v, want true false", quiet.fired.Load(), busy.fired.Load())
	}
	// The timer is set again, for busy's minute (1:50); it is not due yet.
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(49 * time.Second)
	select {
	case name := <-cut:
		t.Fatalf("%s cut after 59s of silence", name)
	default:
	}
	w.end(&busy)
	if err := clock.BlockUntilContext(ctx, 0); err != nil {
		t.Fatal("a timer is still set with no attempt in flight:", err)
	}
	// The next attempt sets it again; before its headers it may wait
	// for an answer, longer than the idle timeout.
	w.start(&quiet, cutter("again"))
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(AnswerWait - time.Second)
	select {
	case name := <-cut:
		t.Fatalf("%s cut before its headers were due", name)
	default:
	}
	clock.Advance(time.Second)
	if name := <-cut; name != "again" {
		t.Fatalf("%s cut, want again", name)
	}
}

// An idle timeout longer than the wait for an answer bounds the wait too.
func TestLongIdleTimeoutIsTheWait(t *testing.T) {
	for _, tc := range []struct{ idle, wait time.Duration }{
		{time.Minute, AnswerWait},
		{DefaultIdleTimeout, AnswerWait},
		{20 * time.Minute, 20 * time.Minute},
	} {
		if w := newIdleWatch(clockwork.NewFakeClock(), tc.idle); w.wait != tc.wait {
			t.Errorf("idle %s: wait %s, want %s", tc.idle, w.wait, tc.wait)
		}
	}
}
