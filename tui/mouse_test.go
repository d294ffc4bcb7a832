package tui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

func TestMouse(t *testing.T) {
	press := func(x, y int) tea.MouseMsg {
		return tea.MouseMsg{X: x, Y: y, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft}
	}
	wheel := func(y int, up bool) tea.MouseMsg {
		b := tea.MouseButtonWheelDown
		if up {
			b = tea.MouseButtonWheelUp
		}
		return tea.MouseMsg{X: 5, Y: y, Action: tea.MouseActionPress, Button: b}
	}
	r := newRig(t, threeProviders())
	r.opts.Mouse = true
	m := r.model(t, 80, 24)
	if !m.mouseOn {
		t.Fatal("mouse reporting is off on the main screen")
	}
	for i := range 30 {
		m = step(t, m, authEventMsg{Event: auth.Event{Time: t0.Add(time.Duration(i) * time.Second), Provider: "claude", Kind: auth.RefreshSucceeded}})
	}
	m = step(t, m, press(4, 4)) // the third row: status line, header, claude, codex, copilot
	if m.table.Selected() != "copilot" {
		t.Errorf("click selected %q, want copilot", m.table.Selected())
	}
	m = step(t, m, wheel(3, true))
	if m.table.Selected() != "codex" {
		t.Errorf("wheel up over the table selected %q, want codex", m.table.Selected())
	}
	logTop := 2 + m.table.height
	m = step(t, m, press(10, logTop+2))
	if m.focus != paneLog || m.activity.cur != 2 {
		t.Errorf("click in the log: focus %v, cursor %d, want the log and 2", m.focus, m.activity.cur)
	}
	m = step(t, m, wheel(logTop+1, false))
	if m.activity.cur != 2+wheelLines {
		t.Errorf("wheel down in the log moved the cursor to %d", m.activity.cur)
	}
	m, cmd := send(t, m, keyPress("?"))
	if m.mouseOn || cmd == nil {
		t.Error("a dialog left mouse reporting on; the terminal could not select its text")
	}
	m = step(t, m, keyPress("esc"))
	if !m.mouseOn {
		t.Error("closing the dialog did not turn the mouse back on")
	}
}
