package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// TestFocus checks that keys reach only the focused pane and that tab walks
// the panes on screen.
func TestFocus(t *testing.T) {
	manyEvents := func(t *testing.T, m Model) Model {
		for i := range 40 {
			m = step(t, m, authEventMsg{Event: auth.Event{Time: t0.Add(time.Duration(i) * time.Second), Provider: "claude", Kind: auth.RefreshSucceeded}})
		}
		return m
	}
	t.Run("tab gives the log the keys", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := manyEvents(t, r.model(t, 80, 24))
		m = step(t, m, keyPress("tab"))
		if m.focus != paneLog {
			t.Fatalf("focus %v, want the log", m.focus)
		}
		m = step(t, m, keyPress("j"))
		if m.table.Selected() != "claude" {
			t.Errorf("j moved the table to %q while the log had the focus", m.table.Selected())
		}
		if m.activity.cur != 1 {
			t.Errorf("j put the log's cursor on %d, want 1", m.activity.cur)
		}
		if !strings.Contains(m.View(), "━━ Activity") {
			t.Errorf("the focused pane is not marked:\n%s", m.View())
		}
	})
	t.Run("tab wraps back to the table, shift+tab goes back", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m = step(t, m, keyPress("tab"))
		m = step(t, m, keyPress("tab"))
		if m.focus != paneTable {
			t.Fatalf("focus %v after two tabs, want the table", m.focus)
		}
		m = step(t, m, keyPress("shift+tab"))
		if m.focus != paneLog {
			t.Errorf("focus %v after shift+tab, want the log", m.focus)
		}
	})
	t.Run("details take the focus in turn and lose it when closed", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m = step(t, m, keyPress("enter"))
		m = step(t, m, keyPress("tab"))
		if m.focus != paneDetail {
			t.Fatalf("focus %v, want the details", m.focus)
		}
		m = step(t, m, keyPress("esc"))
		if m.focus != paneTable {
			t.Errorf("focus %v after the details closed, want the table", m.focus)
		}
	})
	t.Run("details scroll when they do not fit", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 60, 15)
		m = step(t, m, keyPress("enter"))
		m = step(t, m, keyPress("tab"))
		if strings.Contains(m.View(), "Last error") {
			t.Fatalf("all fields fit at 60×15; the test needs a smaller screen:\n%s", m.View())
		}
		for range 10 {
			m = step(t, m, keyPress("j"))
		}
		if !strings.Contains(m.View(), "Last error") {
			t.Errorf("scrolling did not reach the last field:\n%s", m.View())
		}
		if m.table.Selected() != "claude" {
			t.Errorf("j moved the table while the details had the focus")
		}
	})
	t.Run("page keys scroll the log from the table", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := manyEvents(t, r.model(t, 80, 24))
		m = step(t, m, keyPress("J"))
		if m.focus != paneTable || m.activity.vp.YOffset == 0 {
			t.Errorf("focus %v, log offset %d", m.focus, m.activity.vp.YOffset)
		}
	})
}

// TestCopiesShareNoMaps checks that an older copy of the model is not
// changed by what a newer one does: Update hands out values, and a map
// written in place would leak between them.
func TestCopiesShareNoMaps(t *testing.T) {
	r := newRig(t, threeProviders())
	before := r.model(t, 80, 24)
	after := step(t, before, keyPress("r"))
	if _, ok := after.refreshOp["claude"]; !ok {
		t.Fatal("r started no refresh")
	}
	if _, ok := before.refreshOp["claude"]; ok {
		t.Error("the older copy sees the newer refresh")
	}
	if before.table.busy["claude"] != "" {
		t.Error("the older copy's table shows the newer busy state")
	}
}
