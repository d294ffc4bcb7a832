package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// The dashboard shows errors, account names and request paths that came
// from servers and clients: none of them may drive the terminal.
func TestDashboardShowsOutsideTextEscaped(t *testing.T) {
	const payload = "\x1b[2J\x1b]52;c;ZXZpbA==\x07\r\n✓ forged"
	r := newRig(t, threeProviders())
	r.b.refreshErr = errors.New("invalid_grant" + payload)
	m := r.model(t, 100, 30)
	m, cmd := send(t, m, keyPress("r"))
	m = step(t, m, find[refreshDoneMsg](t, results(t, cmd, 1)))
	m = step(t, m, authEventMsg{Event: auth.Event{Time: time.Now(), Provider: "claude", Kind: auth.RefreshFailed,
		Message: "refresh failed" + payload, Err: errors.New(payload)}})
	m = step(t, m, proxyEventMsg{Event: proxy.Event{Provider: "claude", Method: "GET", Path: "/v1/" + payload, Status: 200}})
	v := m.View()
	for _, bad := range []string{"\x1b[2J", "\x1b]52", "\x07", "\r", "\n✓ forged"} {
		if strings.Contains(v, bad) {
			t.Errorf("the view lets %q through", bad)
		}
	}
	if !strings.Contains(v, `\x1b[2J`) {
		t.Errorf("the escaped text is not shown:\n%s", v)
	}
}
