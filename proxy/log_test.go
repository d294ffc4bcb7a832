package proxy

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsNeverShowSecrets drives the success, retry and error paths with
// debug logging on and checks that no token, api key or query secret is logged.
func TestLogsNeverShowSecrets(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const key = "proxy-key-secret-xyz"
	r := newRig(t, fake.UpstreamOptions{}, Options{APIKey: key, Logger: logger}, "tok-old-secret", "tok-new-secret")
	r.up.RejectToken("tok-old-secret")
	for _, path := range []string{"/claude/v1/messages?key=query-secret", "/codex/responses", "/nope/x"} {
		req := r.req(t, http.MethodPost, path, `{"prompt":"body-secret"}`)
		req.Header.Set("X-Api-Key", key)
		req.Header.Set("Cookie", "session=cookie-secret")
		r.do(t, req)
	}
	r.upSrv.Close() // now the upstream is unreachable: the 502 path logs too
	req := r.req(t, http.MethodPost, "/claude/v1/messages?key=query-secret", `{}`)
	req.Header.Set("Authorization", "Bearer "+key)
	if resp, _ := r.do(t, req); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	out := logs.String()
	if !strings.Contains(out, "proxy request") || !strings.Contains(out, "unreachable") {
		t.Fatalf("expected request and error logs, got:\n%s", out)
	}
	for _, secret := range []string{"tok-old-secret", "tok-new-secret", key, "query-secret", "cookie-secret", "body-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %q:\n%s", secret, out)
		}
	}
}
