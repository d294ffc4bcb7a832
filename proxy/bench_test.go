package proxy

import (
	"net/http"
	"net/http/httptest"
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
