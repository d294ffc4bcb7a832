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

	"github.com/ccproxy-tui/ccproxy-tui/usage"
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
	// Accept, when set, is asked about every bearer token; one it refuses
	// gets a 401, as a real API answers an expired or revoked token.
	// OAuthServer.ValidAccessToken is the usual choice.
	Accept func(token string) bool
	// Quota, keyed by a path's first segment ("/claude"), makes that
	// path's answers carry a provider family's quota headers that fill
	// with use (see QuotaPlan).
	Quota map[string]QuotaPlan
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

	calls   atomic.Int64
	refused atomic.Int64

	mu       sync.Mutex // guards rejected, seen, reported
	rejected map[string]bool
	seen     []SeenRequest
	reported usage.Tokens

	quotas quotaBook
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

// Refused is how many requests the upstream answered 401 because their
// token was rejected or not accepted.
func (u *Upstream) Refused() int64 { return u.refused.Load() }

// Calls is how many requests the upstream has received.
func (u *Upstream) Calls() int64 { return u.calls.Load() }

// Reported is the sum of the token usage the upstream has reported in its
// successful answers, JSON and streamed (a stream cut short counts what it
// had sent), so a test can compare the proxy's ledger with it.
func (u *Upstream) Reported() usage.Tokens {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reported
}

func (u *Upstream) report(t usage.Tokens) {
	u.mu.Lock()
	u.reported = u.reported.Add(t)
	u.mu.Unlock()
}

// fakeUsage is what the upstream reports for a request body: made up, but
// of a realistic shape (prompt tokens, some of them served from the cache),
// and different for different bodies so that totals prove each was counted.
func fakeUsage(body []byte, output int) usage.Tokens {
	n := int64(len(body))
	return usage.Tokens{Input: 1 + n/4, Output: int64(output), CacheRead: n / 2, CacheCreation: n % 97}
}

// openAIUsage is t as the OpenAI APIs count it: their prompt tokens include
// the cached ones, and nothing reports cache creation.
func openAIUsage(t usage.Tokens) usage.Tokens {
	t.Input += t.CacheRead
	t.CacheCreation = 0
	return t
}

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
		u.refused.Add(1)
		writeAPIError(w, anthropic, http.StatusUnauthorized, "authentication_error", "invalid access token")
		return
	}
	if family, refused := u.quota(w.Header(), r.URL.Path); refused {
		writeQuotaRefusal(w, family)
		return
	}
	api := apiChat
	switch {
	case anthropic:
		api = apiMessages
	case strings.HasSuffix(r.URL.Path, "/responses"):
		api = apiResponses
	}
	if wantsStream(r, body) {
		u.stream(w, r, api, body)
		return
	}
	t := fakeUsage(body, 7)
	var reply []byte
	switch api {
	case apiMessages:
		reply = fmt.Appendf(nil, `{"id":"msg_fake","type":"message","role":"assistant","model":"fake-model","content":[{"type":"text","text":"Hello from the fake upstream."}],"stop_reason":"end_turn","usage":{"input_tokens":%d,"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,"output_tokens":%d}}`,
			t.Input, t.CacheCreation, t.CacheRead, t.Output)
	case apiResponses:
		t = openAIUsage(t)
		reply = fmt.Appendf(nil, `{"id":"resp_fake","object":"response","status":"completed","model":"fake-model","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello from the fake upstream."}]}],"usage":{"input_tokens":%d,"input_tokens_details":{"cached_tokens":%d},"output_tokens":%d,"total_tokens":%d}}`,
			t.Input, t.CacheRead, t.Output, t.Input+t.Output)
	default:
		t = openAIUsage(t)
		reply = fmt.Appendf(nil, `{"id":"chatcmpl-fake","object":"chat.completion","model":"fake-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fake upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":%d}}}`,
			t.Input, t.Output, t.Input+t.Output, t.CacheRead)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(reply)))
	if _, err := w.Write(reply); err == nil {
		u.report(t)
	}
}

// api is the wire format a fake answer takes.
type api uint8

const (
	apiChat      api = iota // OpenAI Chat Completions
	apiMessages             // Anthropic Messages
	apiResponses            // OpenAI Responses (Codex)
)

func (u *Upstream) isRejected(authz string) bool {
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		return u.opts.Accept != nil
	}
	if u.opts.Accept != nil && !u.opts.Accept(tok) {
		return true
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
func (u *Upstream) stream(w http.ResponseWriter, r *http.Request, a api, body []byte) {
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
	t := fakeUsage(body, deltas+1)
	if a != apiMessages {
		t = openAIUsage(t)
	}
	// Anthropic reports input and cache counts at the start, the output at
	// the end; the OpenAI APIs report everything at the end. What was sent
	// is added up as soon as it is flushed.
	var sent usage.Tokens
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
		if _, err := io.WriteString(w, sseEvent(a, n, total, t)); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		switch {
		case n == total-1:
			u.report(usage.Tokens{Input: t.Input - sent.Input, Output: t.Output - sent.Output,
				CacheRead: t.CacheRead - sent.CacheRead, CacheCreation: t.CacheCreation - sent.CacheCreation})
		case n == 0 && a == apiMessages:
			sent = t
			sent.Output = 1
			u.report(sent)
		}
	}
}

// sseEvent is event n of total in the API's own streaming format; the usage
// t goes where that API puts it.
func sseEvent(a api, n, total int, t usage.Tokens) string {
	last := n == total-1
	switch a {
	case apiMessages:
		switch {
		case n == 0:
			return fmt.Sprintf("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_fake\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"fake-model\",\"content\":[],\"usage\":{\"input_tokens\":%d,\"cache_creation_input_tokens\":%d,\"cache_read_input_tokens\":%d,\"output_tokens\":1}}}\n\n",
				t.Input, t.CacheCreation, t.CacheRead)
		case last:
			return fmt.Sprintf("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":%d}}\n\n", t.Output) +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
		default:
			return fmt.Sprintf("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word%d \"}}\n\n", n)
		}
	case apiResponses:
		switch {
		case n == 0:
			return "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_fake\",\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"fake-model\",\"output\":[],\"usage\":null}}\n\n"
		case last:
			return fmt.Sprintf("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_fake\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"fake-model\",\"usage\":{\"input_tokens\":%d,\"input_tokens_details\":{\"cached_tokens\":%d},\"output_tokens\":%d,\"total_tokens\":%d}}}\n\n",
				t.Input, t.CacheRead, t.Output, t.Input+t.Output)
		default:
			return fmt.Sprintf("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"word%d \"}\n\n", n)
		}
	}
	switch {
	case n == 0:
		return "data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}],\"usage\":null}\n\n"
	case last:
		return fmt.Sprintf("data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d,\"prompt_tokens_details\":{\"cached_tokens\":%d}}}\n\n",
			t.Input, t.Output, t.Input+t.Output, t.CacheRead) + "data: [DONE]\n\n"
	default:
		return fmt.Sprintf("data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word%d \"}}],\"usage\":null}\n\n", n)
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
