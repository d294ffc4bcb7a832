package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

func TestFresh(t *testing.T) {
	tests := []struct {
		name      string
		want, got opID
		fresh     bool
	}{
		{"same operation", opID{"claude", 3}, opID{"claude", 3}, true},
		{"older attempt of the same provider", opID{"claude", 4}, opID{"claude", 3}, false},
		{"same number, other provider", opID{"claude", 3}, opID{"codex", 3}, false},
		{"nothing in flight", opID{}, opID{"claude", 3}, false},
		{"nothing in flight, zero result", opID{}, opID{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fresh(tt.want, tt.got); got != tt.fresh {
				t.Errorf("fresh(%v, %v) = %v, want %v", tt.want, tt.got, got, tt.fresh)
			}
		})
	}
}

func TestFormatLeftAndUrgency(t *testing.T) {
	tests := []struct {
		left time.Duration
		text string
		urg  urgency
	}{
		{50 * time.Hour, "2d2h", urgencyCalm},
		{90 * time.Minute, "1h30m", urgencyCalm},
		{30 * time.Minute, "30m00s", urgencyCalm},
		{29*time.Minute + 59*time.Second, "29m59s", urgencyWarning},
		{5 * time.Minute, "5m00s", urgencyWarning},
		{4*time.Minute + 59*time.Second, "4m59s", urgencyAlarm},
		{42*time.Second + 900*time.Millisecond, "42s", urgencyAlarm},
		{0, "expired", urgencyAlarm},
		{-time.Hour, "expired", urgencyAlarm},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := formatLeft(tt.left); got != tt.text {
				t.Errorf("formatLeft(%v) = %q, want %q", tt.left, got, tt.text)
			}
			if got := urgencyOf(tt.left); got != tt.urg {
				t.Errorf("urgencyOf(%v) = %v, want %v", tt.left, got, tt.urg)
			}
		})
	}
}

func TestStateUrgency(t *testing.T) {
	tests := []struct {
		state auth.State
		auth  bool
		want  urgency
	}{
		{auth.StateOK, true, urgencyCalm},
		{auth.StateRefreshing, true, urgencyCalm},
		{auth.StateExpiring, true, urgencyWarning},
		{auth.StateRetrying, true, urgencyWarning},
		{auth.StateExpired, true, urgencyAlarm},
		{auth.StateNeedsLogin, false, urgencyAlarm},
		{auth.StateUnavailable, false, urgencyAlarm},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			label := stateLabel(auth.Status{State: tt.state, Authenticated: tt.auth})
			if got := stateUrgency(label); got != tt.want {
				t.Errorf("stateUrgency(%q) = %v, want %v", label, got, tt.want)
			}
		})
	}
}

// TestKeys drives every binding through Update and checks what a user
// would notice: the screen state and the call made to the backend.
func TestKeys(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, r *rig, m Model) Model
		keys  []string
		check func(t *testing.T, r *rig, m Model, cmd tea.Cmd)
	}{
		{name: "j moves down", keys: []string{"j"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if got := m.table.Selected(); got != "codex" {
				t.Errorf("selected %q, want codex", got)
			}
		}},
		{name: "down arrow moves down and stops at the end", keys: []string{"down", "down", "down"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if got := m.table.Selected(); got != "copilot" {
				t.Errorf("selected %q, want copilot", got)
			}
		}},
		{name: "runes read together act as single presses", keys: []string{"jj"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if got := m.table.Selected(); got != "copilot" {
				t.Errorf("selected %q, want copilot", got)
			}
		}},
		{name: "k moves up", keys: []string{"j", "j", "k"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if got := m.table.Selected(); got != "codex" {
				t.Errorf("selected %q, want codex", got)
			}
		}},
		{name: "up arrow stops at the top", keys: []string{"up"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if got := m.table.Selected(); got != "claude" {
				t.Errorf("selected %q, want claude", got)
			}
		}},
		{name: "enter shows the details of the selection", keys: []string{"j", "enter"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			v := m.View()
			if !m.showDetail || !strings.Contains(v, "Details · codex") || !strings.Contains(v, "rt_A...9sdf") {
				t.Errorf("details not shown:\n%s", v)
			}
		}},
		{name: "enter again hides the details", keys: []string{"enter", "enter"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if m.showDetail {
				t.Error("details still shown")
			}
		}},
		{name: "esc hides the details", keys: []string{"enter", "esc"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if m.showDetail {
				t.Error("details still shown")
			}
		}},
		{name: "l starts a browser login for the selection", keys: []string{"j", "j", "l"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			if m.modal == nil || m.modal.flow != auth.FlowBrowser || m.modal.op.Provider != "copilot" {
				t.Fatalf("no browser modal for copilot: %+v", m.modal)
			}
			started := find[browserStartedMsg](t, results(t, cmd, 1))
			if started.Login == nil || started.Op != m.modal.op {
				t.Errorf("started = %+v", started)
			}
			if got := r.b.Calls(); len(got) != 1 || got[0] != "browser copilot" {
				t.Errorf("calls %v", got)
			}
		}},
		{name: "d starts a device login", keys: []string{"d"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			if m.modal == nil || m.modal.flow != auth.FlowDevice {
				t.Fatalf("no device modal: %+v", m.modal)
			}
			msgs := results(t, cmd, 2) // the login returns, and its code arrives
			code := find[deviceCodeMsg](t, msgs)
			if code.Code.UserCode != "WDJB-MJHT" {
				t.Errorf("code %+v", code)
			}
			find[loginDoneMsg](t, msgs)
		}},
		{name: "v starts a paste login", keys: []string{"v"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			if m.modal == nil || m.modal.flow != auth.FlowPaste {
				t.Fatalf("no paste modal: %+v", m.modal)
			}
			find[pasteStartedMsg](t, results(t, cmd, 1))
		}},
		{name: "x asks before logging out", keys: []string{"x"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			if m.overlay != overlayConfirmLogout || m.confirmFor != "claude" {
				t.Errorf("overlay %v for %q", m.overlay, m.confirmFor)
			}
			if cmd != nil || len(r.b.Calls()) != 0 {
				t.Errorf("logged out without confirmation: %v", r.b.Calls())
			}
		}},
		{name: "x then y logs out", keys: []string{"x", "y"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			done := find[logoutDoneMsg](t, results(t, cmd, 1))
			if done.Op.Provider != "claude" || m.overlay != overlayNone {
				t.Errorf("done %+v, overlay %v", done, m.overlay)
			}
			if got := r.b.Calls(); len(got) != 1 || got[0] != "logout claude" {
				t.Errorf("calls %v", got)
			}
		}},
		{name: "x then n keeps the credentials", keys: []string{"x", "n"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			if m.overlay != overlayNone || cmd != nil || len(r.b.Calls()) != 0 {
				t.Errorf("overlay %v, calls %v", m.overlay, r.b.Calls())
			}
		}},
		{name: "x then esc keeps the credentials", keys: []string{"x", "esc"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			if m.overlay != overlayNone || len(r.b.Calls()) != 0 {
				t.Errorf("overlay %v, calls %v", m.overlay, r.b.Calls())
			}
		}},
		{name: "r refreshes the selection now", keys: []string{"j", "r"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			if !strings.Contains(m.View(), "refreshing") {
				t.Errorf("no refreshing state:\n%s", m.View())
			}
			done := find[refreshDoneMsg](t, results(t, cmd, 1))
			if done.Op.Provider != "codex" || done.Err != nil {
				t.Errorf("done %+v", done)
			}
		}},
		{name: "p starts the proxy", keys: []string{"p"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			got := find[proxyToggledMsg](t, results(t, cmd, 1))
			if !got.Running || got.URL != "http://127.0.0.1:8787" || !r.px.Running() {
				t.Errorf("toggled %+v", got)
			}
			m = step(t, m, got)
			if !strings.Contains(m.View(), "proxy running at http://127.0.0.1:8787") {
				t.Errorf("status line:\n%s", m.View())
			}
		}},
		{name: "p stops a running proxy", setup: func(t *testing.T, r *rig, m Model) Model {
			return step(t, m, proxyToggledMsg{Running: true, URL: "http://127.0.0.1:8787"})
		}, keys: []string{"p"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			got := find[proxyToggledMsg](t, results(t, cmd, 1))
			if got.Running || r.px.stops != 1 {
				t.Errorf("toggled %+v, stops %d", got, r.px.stops)
			}
		}},
		{name: "e copies the env exports and shows them", keys: []string{"e"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			results(t, cmd, 1)
			if !strings.HasPrefix(r.clip.String(), "\x1b]52;c;") {
				t.Errorf("no OSC 52 sequence: %q", r.clip.String())
			}
			if m.overlay != overlayEnv || !strings.Contains(m.View(), "ANTHROPIC_BASE_URL=http://127.0.0.1:8787/claude") {
				t.Errorf("exports not shown:\n%s", m.View())
			}
		}},
		{name: "? shows the full help", keys: []string{"?"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			v := m.View()
			for _, want := range []string{"device login", "paste code", "copy env exports", "scroll log up"} {
				if !strings.Contains(v, want) {
					t.Errorf("help lacks %q:\n%s", want, v)
				}
			}
		}},
		{name: "? again closes the help", keys: []string{"?", "?"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if m.overlay != overlayNone {
				t.Error("help still open")
			}
		}},
		{name: "q quits", keys: []string{"q"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			find[tea.QuitMsg](t, results(t, cmd, 1))
		}},
		{name: "ctrl+c quits", keys: []string{"ctrl+c"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			find[tea.QuitMsg](t, results(t, cmd, 1))
		}},
		{name: "q stops a running proxy before quitting", setup: func(t *testing.T, r *rig, m Model) Model {
			_ = r.px.Start(context.Background())
			return step(t, m, proxyToggledMsg{Running: true, URL: "http://127.0.0.1:8787"})
		}, keys: []string{"q"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			find[quitReadyMsg](t, results(t, cmd, 1))
			if r.px.Running() {
				t.Error("proxy still running")
			}
			_, cmd = send(t, m, quitReadyMsg{})
			find[tea.QuitMsg](t, results(t, cmd, 1))
		}},
		{name: "pgdown and pgup scroll the log", setup: func(t *testing.T, r *rig, m Model) Model {
			for i := range 40 {
				m = step(t, m, authEventMsg{Event: auth.Event{Time: t0.Add(time.Duration(i) * time.Second), Provider: "claude", Kind: auth.RefreshSucceeded}})
			}
			return m
		}, keys: []string{"pgdown"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if m.activity.vp.YOffset == 0 {
				t.Fatal("pgdown did not scroll")
			}
			m = step(t, m, keyPress("pgup"))
			if m.activity.vp.YOffset != 0 {
				t.Errorf("pgup left offset %d", m.activity.vp.YOffset)
			}
		}},
		{name: "J and K scroll the log too", setup: func(t *testing.T, r *rig, m Model) Model {
			for range 40 {
				m = step(t, m, proxyEventMsg{})
			}
			return m
		}, keys: []string{"J"}, check: func(t *testing.T, r *rig, m Model, _ tea.Cmd) {
			if m.activity.vp.YOffset == 0 {
				t.Fatal("J did not scroll")
			}
			m = step(t, m, keyPress("K"))
			if m.activity.vp.YOffset != 0 {
				t.Errorf("K left offset %d", m.activity.vp.YOffset)
			}
		}},
		{name: "esc cancels a browser login and frees its port", keys: []string{"l"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			started := find[browserStartedMsg](t, results(t, cmd, 1))
			m, cmd = send(t, m, started)
			waiting := start(t, cmd, 2) // the callback wait and the browser opener
			m, cmd = send(t, m, keyPress("esc"))
			if m.modal != nil {
				t.Fatal("modal still open")
			}
			results(t, cmd, 1)
			if r.b.browser.Closed() != 1 {
				t.Errorf("callback closed %d times, want 1", r.b.browser.Closed())
			}
			done := find[loginDoneMsg](t, waiting())
			if !errors.Is(done.Err, context.Canceled) {
				t.Errorf("the login's wait ended with %v, want its context cancelled", done.Err)
			}
			if !strings.Contains(m.View(), "login cancelled") {
				t.Errorf("log does not say cancelled:\n%s", m.View())
			}
		}},
		{name: "enter in the paste modal submits the code", keys: []string{"v"}, check: func(t *testing.T, r *rig, m Model, cmd tea.Cmd) {
			m = step(t, m, find[pasteStartedMsg](t, results(t, cmd, 1)))
			for _, k := range []string{"a", "b", "q", "c"} { // q types, it does not quit
				m = step(t, m, keyPress(k))
			}
			if strings.Contains(m.View(), "abqc") {
				t.Error("the pasted code is shown in clear")
			}
			m, cmd = send(t, m, keyPress("enter"))
			done := find[loginDoneMsg](t, results(t, cmd, 1))
			if len(r.b.paste.got) != 1 || r.b.paste.got[0] != "abqc" {
				t.Errorf("completed with %v", r.b.paste.got)
			}
			m = step(t, m, done)
			if m.modal != nil || !strings.Contains(m.View(), "logged in to claude") {
				t.Errorf("modal %v, view:\n%s", m.modal, m.View())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, threeProviders())
			m := r.model(t, 100, 30)
			if tt.setup != nil {
				m = tt.setup(t, r, m)
			}
			var cmd tea.Cmd
			for _, k := range tt.keys {
				m, cmd = send(t, m, keyPress(k))
			}
			tt.check(t, r, m, cmd)
		})
	}
}

// TestStaleResultsDropped checks that results of operations the user has
// moved on from change nothing.
func TestStaleResultsDropped(t *testing.T) {
	t.Run("login finishing after esc", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m = step(t, m, keyPress("l"))
		op := m.modal.op
		m = step(t, m, keyPress("esc"))
		m = step(t, m, loginDoneMsg{Op: op, Err: errBoom})
		if strings.Contains(m.View(), errBoom.Error()) {
			t.Errorf("stale failure shown:\n%s", m.View())
		}
	})
	t.Run("browser bound after esc is closed at once", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m = step(t, m, keyPress("l"))
		op := m.modal.op
		m = step(t, m, keyPress("esc"))
		m, cmd := send(t, m, browserStartedMsg{Op: op, Login: r.b.browser})
		results(t, cmd, 1)
		if r.b.browser.Closed() != 1 || m.modal != nil {
			t.Errorf("closed %d, modal %v", r.b.browser.Closed(), m.modal)
		}
	})
	t.Run("older refresh result", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m = step(t, m, keyPress("r"))
		old := m.refreshOp["claude"]
		m = step(t, m, keyPress("r"))
		m = step(t, m, refreshDoneMsg{Op: old, Err: errBoom})
		if strings.Contains(m.View(), errBoom.Error()) || !strings.Contains(m.View(), "refreshing") {
			t.Errorf("stale refresh result applied:\n%s", m.View())
		}
	})
	t.Run("older statuses", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m, _ = send(t, m, authEventMsg{Event: auth.Event{Time: t0, Provider: "claude", Kind: auth.LoggedOut}})
		first := m.statusOp
		m, _ = send(t, m, authEventMsg{Event: auth.Event{Time: t0, Provider: "claude", Kind: auth.LoginSucceeded}})
		m = step(t, m, statusesMsg{N: first.N, List: nil})
		if len(m.table.rows) != 3 {
			t.Errorf("stale statuses replaced the table: %d rows", len(m.table.rows))
		}
	})
	t.Run("tick of an old timer", func(t *testing.T) {
		r := newRig(t, threeProviders())
		m := r.model(t, 80, 24)
		m = step(t, m, tickMsg{N: m.tickN + 100, Now: t0.Add(time.Hour)})
		if !m.com.Now.Equal(t0) {
			t.Errorf("old tick moved the clock to %v", m.com.Now)
		}
	})
}

// TestTicks checks the 1 s tick runs only while a countdown is on screen.
func TestTicks(t *testing.T) {
	t.Run("idle model schedules no ticks", func(t *testing.T) {
		r := newRig(t, []auth.Status{
			{Provider: "claude", State: auth.StateNeedsLogin},
			{Provider: "codex", State: auth.StateNeedsLogin},
		})
		m := New(r.ctx, r.opts)
		m = step(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
		m, cmd := send(t, m, statusesMsg{N: m.statusOp.N, List: r.b.Statuses(r.ctx)})
		if cmd != nil || m.tickN != 0 {
			t.Errorf("idle model scheduled a tick (cmd %v, tickN %d)", cmd != nil, m.tickN)
		}
		for _, k := range []string{"j", "k", "enter", "?", "?", "pgdown"} {
			m, _ = send(t, m, keyPress(k))
			if m.tickN != 0 {
				t.Fatalf("key %q scheduled a tick", k)
			}
		}
	})
	t.Run("countdown ticks each second until it expires", func(t *testing.T) {
		r := newRig(t, []auth.Status{{Provider: "claude", Authenticated: true, State: auth.StateExpiring, ExpiresAt: at(2 * time.Second)}})
		m := New(r.ctx, r.opts)
		m = step(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
		m, cmd := send(t, m, statusesMsg{N: m.statusOp.N, List: r.b.Statuses(r.ctx)})
		if cmd == nil || m.tickN == 0 {
			t.Fatal("no tick for a countdown")
		}
		if !strings.Contains(m.View(), "2s") {
			t.Errorf("countdown:\n%s", m.View())
		}
		wait := start(t, cmd, 1)
		r.clock.BlockUntilContext(r.ctx, 1)
		r.clock.Advance(time.Second)
		tick := find[tickMsg](t, wait())
		m, cmd = send(t, m, tick)
		if !strings.Contains(m.View(), "1s") || cmd == nil {
			t.Errorf("after one tick:\n%s", m.View())
		}
		wait = start(t, cmd, 1)
		r.clock.BlockUntilContext(r.ctx, 1)
		r.clock.Advance(time.Second)
		m, cmd = send(t, m, find[tickMsg](t, wait()))
		if !strings.Contains(m.View(), "expired") {
			t.Errorf("after expiry:\n%s", m.View())
		}
		if cmd != nil || m.tickN != 0 {
			t.Error("still ticking with nothing counting down")
		}
	})
}

func TestErrorsLandInLogAndFooter(t *testing.T) {
	r := newRig(t, threeProviders())
	r.b.refreshErr = errors.New("invalid_grant")
	m := r.model(t, 80, 24)
	m, cmd := send(t, m, keyPress("r"))
	m = step(t, m, find[refreshDoneMsg](t, results(t, cmd, 1)))
	v := m.View()
	if strings.Count(v, "refresh claude failed: invalid_grant") != 2 {
		t.Errorf("error should be in the log and the footer:\n%s", v)
	}
	m = step(t, m, keyPress("j"))
	if strings.Count(m.View(), "refresh claude failed: invalid_grant") != 1 {
		t.Errorf("footer message should clear on the next key:\n%s", m.View())
	}
}

func TestLifeBar(t *testing.T) {
	st := NoColorStyles()
	issued := t0.Add(-time.Hour)
	tests := []struct {
		name string
		s    auth.Status
		want string
	}{
		{"just issued", auth.Status{Authenticated: true, ObtainedAt: t0, ExpiresAt: at(time.Hour)}, "████████"},
		{"half gone", auth.Status{Authenticated: true, ObtainedAt: issued, ExpiresAt: at(time.Hour)}, "████░░░░"},
		{"a sliver left", auth.Status{Authenticated: true, ObtainedAt: issued, ExpiresAt: at(time.Second)}, "█░░░░░░░"},
		{"run out", auth.Status{Authenticated: true, ObtainedAt: issued, ExpiresAt: at(-time.Second)}, "░░░░░░░░"},
		{"issue time unknown", auth.Status{Authenticated: true, ExpiresAt: at(time.Hour)}, "        "},
		{"logged out", auth.Status{ObtainedAt: issued, ExpiresAt: at(time.Hour)}, "        "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lifeBar(st, tt.s, t0, 8); got != tt.want {
				t.Errorf("lifeBar = %q, want %q", got, tt.want)
			}
		})
	}
}

// The STATE column follows the clock between status reads: a row never
// says "expiring" next to a countdown that says "expired".
func TestTickRecomputesRowState(t *testing.T) {
	r := newRig(t, threeProviders())
	m := r.model(t, 120, 24)
	if !strings.Contains(rowOf(m.View(), "codex"), "expiring") {
		t.Fatalf("codex row before expiry:\n%s", m.View())
	}
	m = step(t, m, tickMsg{N: m.tickN, Now: t0.Add(26 * time.Minute)})
	row := rowOf(m.View(), "codex")
	if !strings.Contains(row, "expired") || strings.Contains(row, "expiring") {
		t.Errorf("codex row after expiry: %q", row)
	}
}

func rowOf(view, provider string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, " "+provider+" ") {
			return l
		}
	}
	return ""
}

// TestStatusLineKeepsThePort checks that the proxy's address, port
// included, survives every width from 40 columns up.
func TestStatusLineKeepsThePort(t *testing.T) {
	p := proxyState{Configured: true, Running: true, URL: "http://127.0.0.1:33481", Stats: proxy.Counters{Requests: 1234, Errors: 5}}
	for _, w := range []int{40, 60, 80, 140} {
		com := &Common{Width: w, Styles: NoColorStyles()}
		line := statusLine(com, p, true, "")
		if !strings.Contains(line, "http://127.0.0.1:33481") || ansi.StringWidth(line) > w {
			t.Errorf("%d columns: %q", w, line)
		}
	}
}

// A dashboard opened while a serve already listens on the address shows
// that proxy as running, and whose it is, instead of a bind failure.
func TestProxyServedElsewhereShowsAsRunning(t *testing.T) {
	r := newRig(t, threeProviders())
	r.px.failOn = &proxy.ServingElsewhereError{URL: "http://127.0.0.1:8787", PID: 4242}
	m := r.model(t, 120, 24)
	m, cmd := send(t, m, keyPress("p"))
	if cmd == nil {
		t.Fatal("p did not try to start the proxy")
	}
	m = step(t, m, cmd())
	view := m.View()
	if !strings.Contains(view, "proxy running at http://127.0.0.1:8787") || !strings.Contains(view, "pid 4242") {
		t.Fatalf("status line does not show the proxy served elsewhere:\n%s", view)
	}
	m, cmd = send(t, m, keyPress("p"))
	if cmd != nil || !strings.Contains(m.View(), "belongs to pid 4242") {
		t.Errorf("p on a proxy served elsewhere should say whose it is, not stop or start:\n%s", m.View())
	}
}
