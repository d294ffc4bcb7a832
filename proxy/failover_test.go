package proxy

import (
	"net/http"
	"testing"
	"time"
)

func TestLimitReached(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   bool
	}{
		{"anthropic unified rejected", 429, h("Anthropic-Ratelimit-Unified-Status", "rejected"), `{"type":"error"}`, true},
		{"anthropic burst limit", 429, h("Anthropic-Ratelimit-Unified-Status", "allowed", "Retry-After", "3"), `{"type":"error","error":{"type":"rate_limit_error"}}`, false},
		{"codex usage limit", 429, http.Header{}, `{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","resets_in_seconds":3600}}`, true},
		{"codex other 429", 429, http.Header{}, `{"error":{"type":"rate_limit_exceeded"}}`, false},
		{"copilot quota", 402, http.Header{}, `{"error":{"code":"quota_exceeded","message":"You have exceeded your premium request allowance"}}`, true},
		{"402 for something else", 402, http.Header{}, `{"error":{"code":"payment_required"}}`, false},
		{"usage_limit_reached outside a 429", 400, http.Header{}, `{"error":{"type":"usage_limit_reached"}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := limitReached(tc.status, tc.header, []byte(tc.body), now); got != tc.want {
				t.Errorf("limitReached = %v, want %v", got, tc.want)
			}
		})
	}
}
