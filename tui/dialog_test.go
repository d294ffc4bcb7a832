package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// TestSmallScreens opens every screen at 40×10 and 60×15 and checks that it
// fills the terminal, that the way out is on the last line, and that a
// dialog too tall for the screen scrolls to its end.
func TestSmallScreens(t *testing.T) {
	screens := []struct {
		name string
		keys []string
		out  string // what the footer must offer
	}{
		{"main", nil, "? help"},
		{"help", []string{"?"}, "esc close"},
		{"details", []string{"enter"}, "q quit"},
		{"logout", []string{"x"}, "n/esc keep"},
		{"browser", []string{"l"}, "esc cancel"},
		{"device", []string{"d"}, "esc cancel"},
		{"paste", []string{"v"}, "esc cancel"},
		{"filter", []string{"/"}, "esc clear"},
	}
	for _, size := range [][2]int{{40, 10}, {60, 15}} {
		for _, sc := range screens {
			t.Run(sc.name, func(t *testing.T) {
				r := newRig(t, threeProviders())
				m := r.model(t, size[0], size[1])
				for _, k := range sc.keys {
					m = step(t, m, keyPress(k))
				}
				if m.modal != nil {
					m = step(t, m, browserStartedMsg{Op: m.modal.op, Login: r.b.browser})
					m = step(t, m, pasteStartedMsg{Op: m.modal.op, Login: r.b.paste})
					m = step(t, m, deviceCodeMsg{Op: m.modal.op, Code: r.b.device})
				}
				v := m.View()
				checkShape(t, v, size[0], size[1])
				lines := strings.Split(v, "\n")
				if last := lines[len(lines)-1]; !strings.Contains(last, sc.out) {
					t.Errorf("%dx%d: footer %q lacks %q", size[0], size[1], last, sc.out)
				}
				if sc.name == "main" && !strings.Contains(lines[len(lines)-1], "q quit") {
					t.Errorf("%dx%d: footer lacks q quit", size[0], size[1])
				}
			})
		}
	}
	t.Run("help scrolls to its last key at 40x10", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 40, 10)
		m = step(t, m, keyPress("?"))
		if strings.Contains(m.View(), "logout") && strings.Contains(m.View(), "quit  ") {
			t.Fatalf("help fits at 40×10; nothing to scroll:\n%s", m.View())
		}
		m = step(t, m, keyPress("G"))
		if !strings.Contains(m.View(), "copy env exports") {
			t.Errorf("G did not reach the end of the help:\n%s", m.View())
		}
		m = step(t, m, keyPress("g"))
		if !strings.Contains(m.View(), "↑/k") {
			t.Errorf("g did not go back to the top:\n%s", m.View())
		}
	})
}

// TestDialogKeys drives the keys that dialogs add.
func TestDialogKeys(t *testing.T) {
	t.Run("only offered flows start", func(t *testing.T) {
		r := newRig(t, threeProviders())
		r.opts.Flows = func(p string) []auth.Flow {
			if p == "claude" {
				return []auth.Flow{auth.FlowBrowser, auth.FlowPaste}
			}
			return []auth.Flow{auth.FlowDevice}
		}
		m := r.model(t, 80, 24)
		m, cmd := send(t, m, keyPress("d"))
		if m.modal != nil || cmd != nil || len(r.b.Calls()) != 0 {
			t.Fatalf("d started a device login claude does not offer: %v", r.b.Calls())
		}
		if v := m.View(); !strings.Contains(v, "claude has no device login; use l (browser) or v (paste)") {
			t.Errorf("no explanation:\n%s", v)
		}
		m = step(t, m, keyPress("j"))
		last := m.View()[strings.LastIndex(m.View(), "\n")+1:]
		if strings.Contains(last, "l login") || !strings.Contains(last, "d device login") {
			t.Errorf("codex's footer offers the wrong logins: %q", last)
		}
		m = step(t, m, keyPress("enter"))
		if v := m.View(); !strings.Contains(v, "Logins        d device\n") {
			t.Errorf("codex's details do not name its one login:\n%s", v)
		}
	})
	t.Run("v in a browser login switches to pasting", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m = step(t, m, keyPress("l"))
		m = step(t, m, browserStartedMsg{Op: m.modal.op, Login: r.b.browser})
		m, cmd := send(t, m, keyPress("v"))
		if m.modal == nil || m.modal.flow != auth.FlowPaste {
			t.Fatalf("modal %+v, want a paste login", m.modal)
		}
		find[pasteStartedMsg](t, results(t, cmd, 2))
		if r.b.browser.Closed() != 1 {
			t.Errorf("the browser login's port was closed %d times, want 1", r.b.browser.Closed())
		}
	})
	t.Run("c copies the address through tmux when inside it", func(t *testing.T) {
		r := newRig(t, threeProviders())
		var got string
		r.opts.Getenv = func(k string) string { return map[string]string{"TMUX": "/tmp/tmux-0/default,1,0"}[k] }
		r.opts.Tmux = func(_ context.Context, text string) error { got = text; return nil }
		m := r.model(t, 80, 24)
		m = step(t, m, keyPress("l"))
		m = step(t, m, browserStartedMsg{Op: m.modal.op, Login: r.b.browser})
		m, cmd := send(t, m, keyPress("c"))
		m = step(t, m, find[clipboardMsg](t, results(t, cmd, 1)))
		if got != r.b.browser.url {
			t.Errorf("tmux got %q", got)
		}
		if !strings.HasPrefix(r.clip.String(), "\x1b]52;c;") || strings.Contains(r.clip.String(), "\x1bPtmux") {
			t.Errorf("want a plain OSC 52 too, got %q", r.clip.String())
		}
		if !strings.Contains(m.View(), "Copied the address to tmux's paste buffer") {
			t.Errorf("no note:\n%s", m.View())
		}
	})
	t.Run("a failed copy says so instead of copied", func(t *testing.T) {
		r := newRig(t, threeProviders())
		r.opts.Getenv = func(k string) string { return map[string]string{"TMUX": "x"}[k] }
		r.opts.Tmux = func(context.Context, string) error { return errors.New("no server running") }
		r.opts.Clipboard = nil
		m := r.model(t, 80, 24)
		m = step(t, m, proxyToggledMsg{Running: true, URL: "http://127.0.0.1:8787"})
		m, cmd := send(t, m, keyPress("e"))
		m = step(t, m, find[clipboardMsg](t, results(t, cmd, 1)))
		v := m.View()
		if strings.Contains(v, "Copied") || strings.Contains(v, "Sent") || !strings.Contains(v, "Could not copy") {
			t.Errorf("copy note:\n%s", v)
		}
	})
	t.Run("o opens the address and says whether it did", func(t *testing.T) {
		r := newRig(t, threeProviders())
		var opened []string
		r.opts.OpenBrowser = func(u string) (bool, error) { opened = append(opened, u); return true, nil }
		m := r.model(t, 80, 24)
		m = step(t, m, keyPress("d"))
		m = step(t, m, deviceCodeMsg{Op: m.modal.op, Code: r.b.device})
		m, cmd := send(t, m, keyPress("o"))
		m = step(t, m, find[openedMsg](t, results(t, cmd, 1)))
		if len(opened) != 1 || opened[0] != r.b.device.VerificationURI || !strings.Contains(m.View(), "Opened the address") {
			t.Errorf("opened %v:\n%s", opened, m.View())
		}
	})
	t.Run("enter on the log opens its line whole, esc closes it", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 60, 15)
		long := "refresh claude: token endpoint answered 503 Service Unavailable; the scheduler retries in 30s (press r to try now)"
		m = step(t, m, authEventMsg{Event: auth.Event{Time: t0, Provider: "claude", Kind: auth.RefreshFailed, Message: long}})
		if strings.Contains(m.View(), "press r to try now") {
			t.Fatal("the line fits; the test needs a longer one")
		}
		m = step(t, m, keyPress("tab"))
		m = step(t, m, keyPress("enter"))
		if m.overlay != overlayEntry || !strings.Contains(strings.ReplaceAll(m.View(), "\n", " "), "press r to try now") {
			t.Errorf("line not shown whole:\n%s", m.View())
		}
		m = step(t, m, keyPress("esc"))
		if m.overlay != overlayNone {
			t.Error("esc left the line open")
		}
	})
	t.Run("filter narrows the table and the log, esc clears it", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m = step(t, m, authEventMsg{Event: auth.Event{Time: t0, Provider: "claude", Kind: auth.RefreshSucceeded}})
		m = step(t, m, keyPress("/"))
		m = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("cop")})
		if len(m.table.rows) != 1 || m.table.Selected() != "copilot" {
			t.Errorf("rows %d, selected %q", len(m.table.rows), m.table.Selected())
		}
		if strings.Contains(m.View(), "refreshed") {
			t.Errorf("the log still shows claude's line:\n%s", m.View())
		}
		m = step(t, m, keyPress("enter"))
		m = step(t, m, keyPress("x"))
		if m.overlay != overlayConfirmLogout || m.confirmFor != "copilot" {
			t.Errorf("keys after enter should act on the filtered selection: %v %q", m.overlay, m.confirmFor)
		}
		m = step(t, m, keyPress("n"))
		m = step(t, m, keyPress("esc"))
		if len(m.table.rows) != 3 || !strings.Contains(m.View(), "refreshed") {
			t.Errorf("esc did not clear the filter:\n%s", m.View())
		}
	})
	t.Run("g and G jump to the ends of the table", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m = step(t, m, keyPress("G"))
		if m.table.Selected() != "copilot" {
			t.Errorf("G selected %q", m.table.Selected())
		}
		m = step(t, m, keyPress("g"))
		if m.table.Selected() != "claude" {
			t.Errorf("g selected %q", m.table.Selected())
		}
	})
}
