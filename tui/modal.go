package tui

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/remote"
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
	// remote is the SSH session the dashboard runs in, nil on a local
	// terminal; the browser flow then explains the port forward.
	remote *remote.Session
	// canPaste says the provider also takes a pasted code (the v key).
	canPaste bool
	// note says what the last copy or open did.
	note string
}

func newLoginModal(com *Common, op opID, flow auth.Flow, ctx context.Context, cancel context.CancelFunc) *loginModal {
	in := textinput.New()
	in.Placeholder = "paste the code here"
	in.EchoMode = textinput.EchoPassword
	in.EchoCharacter = '•'
	in.CharLimit = 4096
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

// page is the dialog's title and lines at width w; frame picks the spinner
// frame. The address is printed whole on lines of its own.
func (m *loginModal) page(frame, w int) (string, []string) {
	st := m.com.Styles
	spin := spinnerFrames[frame%len(spinnerFrames)]
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }
	say := func(s string) { add(wrapText(s, w)...) }
	title := "Log in to " + m.op.Provider
	switch m.flow {
	case auth.FlowBrowser:
		title += " · browser"
		if m.url == "" {
			add(spin + " starting the login…")
			break
		}
		if port := callbackPort(m.url); m.remote != nil && port > 0 {
			say(fmt.Sprintf("You are on this machine over SSH; the browser's answer comes back to port %d here. On your own computer, run this and keep it open:", port))
			add("")
			add(chunk(m.remote.Forward(port), w)...)
			add("")
			say("then open this address in your browser there:")
		} else {
			switch {
			case !m.tried:
				say(spin + " opening your browser…")
			case m.opened:
				say("Your browser opened this address (open it yourself if not):")
			default:
				say("No browser opened here. Open this address in a browser on this computer:")
			}
		}
		add("")
		add(urlLines(st, m.url, w)...)
		add("")
		if m.canPaste {
			say("No browser on this machine? Press v to paste a code instead.")
		}
		add(spin + " waiting for the browser…")
	case auth.FlowDevice:
		title += " · device"
		if m.device == nil {
			add(spin + " asking for a device code…")
			break
		}
		uri := m.device.VerificationURI
		if uri == "" {
			uri = m.device.VerificationURIComplete
		}
		say("Open this address on any device and enter the code:")
		add("")
		add(urlLines(st, uri, w)...)
		add("")
		if m.com.Height >= 20 {
			add(strings.Split(st.BigCode.Render(m.device.UserCode), "\n")...)
		} else {
			add(st.Title.Render(m.device.UserCode))
		}
		left := "no expiry given"
		if !m.device.ExpiresAt.IsZero() {
			d := m.device.ExpiresAt.Sub(m.com.Now)
			left = "code expires in " + formatMMSS(d)
			if urgencyOf(d) == urgencyAlarm {
				left = st.Alarm.Render(left)
			}
		}
		add(left, spin+" waiting for approval…")
	case auth.FlowPaste:
		title += " · paste code"
		if m.url == "" {
			add(spin + " preparing the login…")
			break
		}
		say("1. Open this address in any browser and approve:")
		add("")
		add(urlLines(st, m.url, w)...)
		add("")
		say("2. Paste the code the page shows, then press enter:")
		m.input.Width = max(w-4, 8)
		add(m.input.View())
		if m.pending {
			add(spin + " exchanging the code…")
		}
	}
	if m.note != "" {
		add("")
		say(m.note)
	}
	return title, lines
}

// target is what c copies and o opens: the address the user must visit.
func (m *loginModal) target() string {
	if m.device != nil {
		if m.device.VerificationURIComplete != "" {
			return m.device.VerificationURIComplete
		}
		return m.device.VerificationURI
	}
	return m.url
}

// callbackPort is the loopback port the authorize URL sends the browser
// back to, or 0 when its redirect is not on this machine's loopback.
func callbackPort(authorize string) int {
	u, err := url.Parse(authorize)
	if err != nil {
		return 0
	}
	r, err := url.Parse(u.Query().Get("redirect_uri"))
	if err != nil {
		return 0
	}
	switch r.Hostname() {
	case "localhost", "127.0.0.1", "::1":
	default:
		return 0
	}
	port, err := strconv.Atoi(r.Port())
	if err != nil {
		return 0
	}
	return port
}
