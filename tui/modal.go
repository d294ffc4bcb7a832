package tui

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/lipgloss"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// spinnerFrames animate the modal; the frame comes from an animation counter
// the root advances, so a fixed clock draws a fixed frame.
var spinnerFrames = spinner.Dot.Frames

// loginModal is a login in progress: its URL, the device code, the paste
// input, and the handles that cancel it.
type loginModal struct {
	com  *Common
	op   opID
	flow auth.Flow
	// ctx bounds every step of this login; cancel ends them all (esc).
	ctx    context.Context
	cancel context.CancelFunc

	browser BrowserLogin
	paste   PasteLogin
	url     string
	opened  bool // the browser was opened (the URL is shown anyway)
	tried   bool // we know whether a browser opened
	device  *auth.DeviceCode
	input   textinput.Model
	pending bool // a pasted code is being exchanged
}

func newLoginModal(com *Common, op opID, flow auth.Flow, ctx context.Context, cancel context.CancelFunc) *loginModal {
	in := textinput.New()
	in.Placeholder = "paste the code here"
	in.EchoMode = textinput.EchoPassword
	in.EchoCharacter = '•'
	in.Prompt = "› "
	in.Cursor.SetMode(cursor.CursorStatic)
	in.PlaceholderStyle = com.Styles.Muted
	in.PromptStyle = com.Styles.HelpKey
	in.Focus()
	return &loginModal{com: com, op: op, flow: flow, ctx: ctx, cancel: cancel, input: in}
}

// Close cancels the login and frees what it holds. The browser handle is
// returned so the caller can close it off the UI goroutine.
func (m *loginModal) Close() BrowserLogin {
	if m.cancel != nil {
		m.cancel()
	}
	return m.browser
}

// counting reports whether the modal shows a live countdown.
func (m *loginModal) counting() bool {
	return m.device != nil && !m.device.ExpiresAt.IsZero() && m.device.ExpiresAt.After(m.com.Now)
}

// View draws the modal box; frame picks the spinner frame.
func (m *loginModal) View(frame int) string {
	st := m.com.Styles
	inner := max(min(m.com.Width-8, 76), 20)
	spin := spinnerFrames[frame%len(spinnerFrames)]
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }
	switch m.flow {
	case auth.FlowBrowser:
		add(st.Title.Render("Log in to "+m.op.Provider+" · browser"), "")
		switch {
		case m.url == "":
			add(spin + " starting the login…")
		case !m.tried:
			add(spin+" opening your browser…", "")
			add(chunk(m.url, inner)...)
		case m.opened:
			add("Your browser opened this address (open it yourself if not):", "")
			add(chunk(m.url, inner)...)
			add("", spin+" waiting for you to finish in the browser…")
		default:
			add("No browser here. Open this address on any device:", "")
			add(chunk(m.url, inner)...)
			add("", spin+" waiting for the callback…")
		}
	case auth.FlowDevice:
		add(st.Title.Render("Log in to "+m.op.Provider+" · device"), "")
		if m.device == nil {
			add(spin + " asking for a device code…")
			break
		}
		uri := m.device.VerificationURI
		if uri == "" {
			uri = m.device.VerificationURIComplete
		}
		add("Open this address and enter the code:", "")
		add(chunk(uri, inner)...)
		add("")
		add(strings.Split(st.BigCode.Render(spaced(m.device.UserCode)), "\n")...)
		left := "no expiry given"
		if !m.device.ExpiresAt.IsZero() {
			d := m.device.ExpiresAt.Sub(m.com.Now)
			left = "code expires in " + formatMMSS(d)
			if urgencyOf(d) == urgencyAlarm {
				left = st.Alarm.Render(left)
			}
		}
		add(left, "", spin+" waiting for approval…")
	case auth.FlowPaste:
		add(st.Title.Render("Log in to "+m.op.Provider+" · paste code"), "")
		if m.url == "" {
			add(spin + " preparing the login…")
			break
		}
		add("1. Open this address and approve:", "")
		add(chunk(m.url, inner)...)
		add("", "2. Paste the code the page shows:")
		m.input.Width = max(inner-4, 8)
		add(m.input.View())
		if m.pending {
			add("", spin+" exchanging the code…")
		}
	}
	help := "esc cancel"
	if m.flow == auth.FlowPaste {
		help = "enter submit · esc cancel"
	}
	add("", st.Muted.Render(help))
	for i, l := range lines {
		lines[i] = clip(l, inner)
	}
	return st.Modal.Render(strings.Join(lines, "\n"))
}

// chunk breaks a long URL into lines of w cells so all of it stays visible
// and selectable; it is the one place text is deliberately broken.
func chunk(s string, w int) []string {
	if w <= 0 || len(s) <= w {
		return []string{s}
	}
	var out []string
	for len(s) > w {
		out = append(out, s[:w])
		s = s[w:]
	}
	return append(out, s)
}

// spaced spreads a user code out so it reads as large type: "WDJB-MJHT" →
// "W D J B - M J H T".
func spaced(code string) string {
	return strings.Join(strings.Split(code, ""), " ")
}

// centre places box in the middle of a w×h screen.
func centre(box string, w, h int) string {
	return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, box)
}
