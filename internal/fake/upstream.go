package fake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// UpstreamOptions shape a fake provider API.
type UpstreamOptions struct {
	// Deltas is how many text deltas a streamed reply carries (default 5),
	// between its opening and closing events.
	Deltas int
	// Interval paces streamed events; 0 writes them back to back.
	Interval time.Duration
	// BeforeEvent, when set, runs before streamed event n (0-based, counting
	// every event including the opening one) is written; tests gate a stream
	// with it. An error ends the stream.
	BeforeEvent func(ctx context.Context, n int) error
	// Record keeps every request seen, for Requests. Off for load runs.
	Record bool
	// Clock paces the events (default: the real clock).
	Clock clockwork.Clock
}

// Upstream is a loopback stand-in for Anthropic's Messages API and OpenAI's
// Chat Completions / Responses APIs: JSON or server-sent events (when the
// body says "stream":true or the client accepts text/event-stream), errors in
// each API's own shape, and a 401 for any bearer token it was told to reject.
// Serve it with httptest.NewServer or http.Serve; it is an http.Handler.
// A request may override the stream's shape with X-Fake-Deltas (a count) and
// X-Fake-Pace (a Go duration), so one upstream serves both fast and slow
// streams to a benchmark or a demo.
type Upstream struct {
	opts UpstreamOptions

	calls atomic.Int64

	mu       sync.Mutex // guards rejected, seen
	rejected map[string]bool
	seen     []SeenRequest
}

// SeenRequest is one request as the upstream received it, recorded so tests
// can check what the proxy forwarded.
type SeenRequest struct {
	Method string
	Path   string
	// EscapedPath is the path as sent on the wire (%2F kept).
	EscapedPath string
	RawQuery    string
	Host        string
	Header      http.Header
	Body        []byte
}

// NewUpstream returns a fake API with opts.
func NewUpstream(opts UpstreamOptions) *Upstream {
	if opts.Deltas <= 0 {
		opts.Deltas = 5
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	return &Upstream{opts: opts, rejected: map[string]bool{}}
}

// RejectToken makes the upstream answer 401 to requests bearing token, as a
// real API does for an expired or revoked access token.
func (u *Upstream) RejectToken(token string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.rejected[token] = true
}

// Calls is how many requests the upstream has received.
func (u *Upstream) Calls() int64 { return u.calls.Load() }

// Requests returns copies of the recorded requests (Record must be on).
func (u *Upstream) Requests() []SeenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]SeenRequest, len(u.seen))
	copy(out, u.seen)
	return out
}

// ServeHTTP answers like the provider API that owns the path.
func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	anthropic := strings.HasSuffix(r.URL.Path, "/messages")
	if u.opts.Record {
		u.mu.Lock()
		u.seen = append(u.seen, SeenRequest{Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Host: r.Host, Header: r.Header.Clone(), Body: body})
		u.mu.Unlock()
	}
	if u.isRejected(r.Header.Get("Authorization")) {
		writeAPIError(w, anthropic, http.StatusUnauthorized, "authentication_error", "invalid access token")
		return
	}
	if wantsStream(r, body) {
		u.stream(w, r, anthropic)
		return
	}
	var reply []byte
	switch {
	case anthropic:
		reply = []byte(`{"id":"msg_fake","type":"message","role":"assistant","model":"fake-model","content":[{"type":"text","text":"Hello from the fake upstream."}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":7}}`)
	case strings.HasSuffix(r.URL.Path, "/responses"):
		reply = []byte(`{"id":"resp_fake","object":"response","status":"completed","model":"fake-model","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello from the fake upstream."}]}]}`)
	default:
		reply = []byte(`{"id":"chatcmpl-fake","object":"chat.completion","model":"fake-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fake upstream."},"finish_reason":"stop"}]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(reply)))
	_, _ = w.Write(reply)
}

func (u *Upstream) isRejected(authz string) bool {
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.rejected[tok]
}

func wantsStream(r *http.Request, body []byte) bool {
	return bytes.Contains(body, []byte(`"stream":true`)) || bytes.Contains(body, []byte(`"stream": true`)) ||
		strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// stream writes the reply as server-sent events, flushing each one.
func (u *Upstream) stream(w http.ResponseWriter, r *http.Request, anthropic bool) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	ctx := r.Context()
	deltas, pace := u.opts.Deltas, u.opts.Interval
	if v, err := strconv.Atoi(r.Header.Get("X-Fake-Deltas")); err == nil && v >= 0 {
		deltas = v
	}
	if v, err := time.ParseDuration(r.Header.Get("X-Fake-Pace")); err == nil && v >= 0 {
		pace = v
	}
	total := deltas + 2
	for n := range total {
		if n > 0 && pace > 0 {
			select {
			case <-ctx.Done():
				return
			case <-u.opts.Clock.After(pace):
			}
		}
		if u.opts.BeforeEvent != nil {
			if err := u.opts.BeforeEvent(ctx, n); err != nil {
				return
			}
		}
		if _, err := io.WriteString(w, sseEvent(anthropic, n, total)); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// sseEvent is event n of total in the API's own streaming format.
func sseEvent(anthropic bool, n, total int) string {
	last := n == total-1
	if anthropic {
		switch {
		case n == 0:
			return "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_fake\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"fake-model\",\"content\":[]}}\n\n"
		case last:
			return "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
		default:
			return fmt.Sprintf("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word%d \"}}\n\n", n)
		}
	}
	switch {
	case n == 0:
		return "data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
	case last:
		return "data: [DONE]\n\n"
	default:
		return fmt.Sprintf("data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word%d \"}}]}\n\n", n)
	}
}

// writeAPIError answers in the API's own error shape.
func writeAPIError(w http.ResponseWriter, anthropic bool, status int, kind, msg string) {
	var body string
	if anthropic {
		body = fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q}}`, kind, msg)
	} else {
		body = fmt.Sprintf(`{"error":{"message":%q,"type":%q,"code":%q}}`, msg, kind, "invalid_api_key")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
