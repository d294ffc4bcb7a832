package providers

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// Codex's device endpoints and Copilot's token exchange are classified by
// auth's rules: a 429 is temporary and keeps the server's Retry-After, a
// 503 is temporary, and nothing of the body leaks.
func TestHookCallsHonourRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header string
		kind   error
		wait   time.Duration
	}{
		{"429 with Retry-After", 429, "7", auth.ErrTransient, 7 * time.Second},
		{"503 without", 503, "", auth.ErrTransient, 0},
		{"400 with an OAuth code", 400, "", auth.ErrLoginRequired, 0},
	} {
		body := `{"error":"rate_limited","error_description":"slow down"}`
		if tc.status == 400 {
			body = `{"error":"invalid_grant"}`
		}
		t.Run("codex device code: "+tc.name, func(t *testing.T) {
			ep := newEndpoint(t)
			ep.answer("/api/accounts/deviceauth/usercode", tc.status, body)
			if tc.header != "" {
				ep.header("/api/accounts/deviceauth/usercode", "Retry-After", tc.header)
			}
			p := codexProvider(t, clockwork.NewFakeClockAt(testNow), ep)
			_, err := p.OAuth.DeviceLogin(context.Background(), nil)
			checkAnswerError(t, err, tc.kind, tc.wait)
		})
		t.Run("copilot token: "+tc.name, func(t *testing.T) {
			ep := newEndpoint(t)
			ep.answer("/copilot_internal/v2/token", tc.status, body)
			if tc.header != "" {
				ep.header("/copilot_internal/v2/token", "Retry-After", tc.header)
			}
			p := copilotProvider(t, clockwork.NewFakeClockAt(testNow), ep, Spec{})
			cur := auth.Credentials{Provider: Copilot, AccessToken: "tid=old", RefreshToken: "ghu_SYNTHETICgithubToken0000000000000001"}
			_, err := p.OAuth.Refresh(context.Background(), cur)
			checkAnswerError(t, err, tc.kind, tc.wait)
		})
	}
}

func checkAnswerError(t *testing.T, err error, kind error, wait time.Duration) {
	t.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) || !errors.Is(err, kind) {
		t.Fatalf("err = %v, want an *auth.Error of kind %v", err, kind)
	}
	if ae.RetryAfter != wait {
		t.Errorf("RetryAfter = %v, want %v", ae.RetryAfter, wait)
	}
}
