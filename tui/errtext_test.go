package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// TestDescribe checks that a failure reads as one line: each layer's
// "op provider:" and advice once, and the dashboard's key, not a command.
func TestDescribe(t *testing.T) {
	r := newRig(t, threeProviders())
	r.opts.Flows = func(string) []auth.Flow { return []auth.Flow{auth.FlowBrowser, auth.FlowPaste} }
	m := New(context.Background(), r.opts)
	inner := &auth.Error{Provider: "claude", Op: "exchange", Kind: auth.ErrLoginRequired, Code: "invalid_grant", Err: errors.New("the code was already used")}
	tests := []struct {
		name, op string
		err      error
		want     string
	}{
		{"auth error inside auth error", "login",
			&auth.Error{Provider: "claude", Op: "login", Kind: auth.ErrLoginRequired, Err: inner},
			"login claude failed: invalid_grant: the code was already used — log in again with l (browser) or v (paste)"},
		{"wrapped by fmt with the same prefix", "refresh",
			fmt.Errorf("refresh claude: %w", &auth.Error{Provider: "claude", Op: "refresh", Kind: auth.ErrTransient, Err: errors.New("token endpoint answered 503")}),
			"refresh claude failed: token endpoint answered 503 — check the network; r tries again"},
		{"plain error repeating the prefix and a CLI command", "refresh",
			errors.New("refresh claude: refresh claude: not logged in; run: ccproxy-tui auth login claude"),
			"refresh claude failed: not logged in"},
		{"cancelled", "login", &auth.Error{Provider: "claude", Op: "login", Kind: auth.ErrCancelled}, "login claude cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.describe(tt.op, "claude", tt.err); got != tt.want {
				t.Errorf("describe =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
	t.Run("a reported failure reaches the log file", func(t *testing.T) {
		var buf bytes.Buffer
		r := newRig(t, threeProviders())
		r.b.refreshErr = errors.New("token endpoint answered 503")
		r.opts.Log = slog.New(slog.NewTextHandler(&buf, nil))
		m := r.model(t, 80, 24)
		m, cmd := send(t, m, keyPress("r"))
		step(t, m, find[refreshDoneMsg](t, results(t, cmd, 1)))
		if !strings.Contains(buf.String(), "refresh claude failed: token endpoint answered 503") {
			t.Errorf("log file got %q", buf.String())
		}
	})
	t.Run("status reasons name the key", func(t *testing.T) {
		got := m.keyAdvice("claude", "refresh refused — log in again; run: ccproxy-tui auth login claude")
		if want := "refresh refused — log in again — use l (browser) or v (paste)"; got != want {
			t.Errorf("keyAdvice = %q, want %q", got, want)
		}
		// An account's advice names it; the key acts on the selected row.
		got = m.keyAdvice("claude", "refresh refused — log in again; run: ccproxy-tui auth login claude --account work")
		if want := "refresh refused — log in again — use l (browser) or v (paste)"; got != want {
			t.Errorf("keyAdvice of an account = %q, want %q", got, want)
		}
	})
}
