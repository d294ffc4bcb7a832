package tui

import (
	"bytes"
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// rig is a model wired to fakes, with the clock fixed at t0.
type rig struct {
	b     *fakeBackend
	px    *fakeProxy
	clock *clockwork.FakeClock
	clip  *bytes.Buffer
	opts  Options
	ctx   context.Context
}

func newRig(t *testing.T, st []auth.Status) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &rig{b: newFakeBackend(st), px: &fakeProxy{}, clock: clockwork.NewFakeClockAt(t0), clip: &bytes.Buffer{}, ctx: ctx}
	r.opts = Options{
		Backend:     r.b,
		Proxy:       r.px,
		AuthEvents:  r.b.events,
		Clock:       r.clock,
		Clipboard:   r.clip,
		Styles:      NoColorStyles(),
		OpenBrowser: func(string) (bool, error) { return false, nil },
		Env: func(u string) string {
			return "export ANTHROPIC_BASE_URL=" + u + "/claude\nexport ANTHROPIC_AUTH_TOKEN=ccproxy\n"
		},
	}
	return r
}

// model returns a sized model that already shows the rig's providers.
func (r *rig) model(t *testing.T, w, h int) Model {
	t.Helper()
	m := New(r.ctx, r.opts)
	m = step(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m = step(t, m, statusesMsg{N: m.statusOp.N, List: r.b.Statuses(r.ctx)})
	return m
}

// send applies msg and returns the new model and command.
func send(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	nm, cmd := m.Update(msg)
	mm, ok := nm.(Model)
	if !ok {
		t.Fatalf("Update returned %T", nm)
	}
	return mm, cmd
}

func step(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	m, _ = send(t, m, msg)
	return m
}

// results runs cmd and waits for n of its leaf commands to return (a nil
// result counts). Leaves that block, such as a tick on the fake clock, are
// left waiting on the test's context.
func results(t *testing.T, cmd tea.Cmd, n int) []tea.Msg {
	t.Helper()
	return start(t, cmd, n)()
}

// start runs cmd like results but returns at once; the returned func waits
// for the n results.
func start(t *testing.T, cmd tea.Cmd, n int) func() []tea.Msg {
	t.Helper()
	out := make(chan tea.Msg, 64)
	var run func(c tea.Cmd)
	run = func(c tea.Cmd) {
		go func() {
			msg := c()
			if batch, ok := msg.(tea.BatchMsg); ok {
				for _, sub := range batch {
					if sub != nil {
						run(sub)
					}
				}
				return
			}
			out <- msg
		}()
	}
	if cmd == nil {
		if n > 0 {
			t.Fatalf("want %d results, command is nil", n)
		}
		return func() []tea.Msg { return nil }
	}
	run(cmd)
	return func() []tea.Msg {
		t.Helper()
		return collect(t, out, n)
	}
}

func collect(t *testing.T, out <-chan tea.Msg, n int) []tea.Msg {
	t.Helper()
	var got []tea.Msg
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case msg := <-out:
			got = append(got, msg)
		case <-timeout:
			t.Fatalf("only %d of %d results: %#v", len(got), n, got)
		}
	}
	return got
}

// find returns the first message of type T.
func find[T any](t *testing.T, msgs []tea.Msg) T {
	t.Helper()
	for _, m := range msgs {
		if v, ok := m.(T); ok {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T among %#v", zero, msgs)
	return zero
}

// keyPress builds the key message a terminal would send for s.
func keyPress(s string) tea.KeyMsg {
	switch s {
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}
