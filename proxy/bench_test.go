package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

// BenchmarkProxy measures one proxied request end to end (door, token
// lookup, body buffering, rewrite, upstream round trip over loopback, event)
// through Handler, JSON and SSE.
func BenchmarkProxy(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"json", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`},
		{"sse", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			up := httptest.NewServer(fake.NewUpstream(fake.UpstreamOptions{}))
			defer up.Close()
			s := newTestServer(b, Options{Upstreams: []Upstream{{Name: "claude", Target: claudeTarget{base: up.URL}, Tokens: newTokens("tok-A")}}})
			h := s.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787/claude/v1/messages?beta=true", strings.NewReader(bc.body))
				req.Header.Set("Authorization", "Bearer placeholder")
				req.Header.Set("Anthropic-Beta", "tools-2024-04-04")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// cannedAnswer is an upstream in memory: a Messages answer with its usage
// and a full set of Anthropic quota headers, as Claude sends them.
type cannedAnswer struct{ body []byte }

func (c cannedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	const p = "Anthropic-Ratelimit-Unified-"
	h := http.Header{
		"Content-Type":             {"application/json"},
		"Content-Length":           {strconv.Itoa(len(c.body))},
		"Request-Id":               {"req_011CV4bench"},
		p + "Status":               {"allowed"},
		p + "Reset":                {"1796169600"},
		p + "Representative-Claim": {"five_hour"},
		p + "5h-Status":            {"allowed"},
		p + "5h-Reset":             {"1796169600"},
		p + "5h-Utilization":       {"0.4200"},
		p + "7d-Status":            {"allowed"},
		p + "7d-Reset":             {"1796569600"},
		p + "7d-Utilization":       {"0.1200"},
		p + "Overage-Status":       {"rejected"},
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)), Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
}

// BenchmarkOverhead is what ccproxy costs a request beyond a bare
// ReverseProxy, with no socket on either side: both relay the same canned
// answer from memory, so the difference is the proxy's own work (door,
// token, body buffering, quota, usage counting, event).
func BenchmarkOverhead(b *testing.B) {
	answer := cannedAnswer{body: []byte(`{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello."}],"stop_reason":"end_turn","usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7}}`)}
	base, _ := url.Parse("http://127.0.0.1:1")
	s := newTestServer(b, Options{Upstreams: []Upstream{{Name: "claude", Target: claudeTarget{base: base.String()}, Tokens: newTokens("tok-A")}}})
	s.rp.Transport.(*failover).next.(*retrier).next = answer
	bare := &httputil.ReverseProxy{Transport: answer, BufferPool: make(bufferPool, 16), Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Path = strings.TrimPrefix(pr.Out.URL.Path, "/claude")
		pr.SetURL(base)
		pr.Out.Header.Del("X-Api-Key")
		pr.Out.Header.Set("Authorization", "Bearer tok-A")
	}}
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"ccproxy", s.Handler()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787/claude/v1/messages", strings.NewReader(`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`))
				rec := httptest.NewRecorder()
				bc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
