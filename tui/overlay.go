package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"
)

// overlay is a dialog drawn over the dashboard that takes the keyboard.
type overlay int

const (
	overlayNone overlay = iota
	overlayHelp
	overlayEnv
	overlayConfirmLogout
	// overlayEntry shows one log line whole.
	overlayEntry
	// overlayRequest shows one proxied request whole.
	overlayRequest
)

// newHelp builds the help renderer with the dashboard's styles.
func newHelp(st *Styles) help.Model {
	h := help.New()
	h.Styles.ShortKey = st.HelpKey
	h.Styles.ShortDesc = st.HelpDesc
	h.Styles.ShortSeparator = st.HelpSep
	h.Styles.FullKey = st.HelpKey
	h.Styles.FullDesc = st.HelpDesc
	h.Styles.FullSeparator = st.HelpSep
	h.Styles.Ellipsis = st.HelpSep
	return h
}

// dialog is the title and lines of the open dialog at the current width,
// or ok false on the main screen. View draws them and the scroll keys
// clamp against them, so the two never disagree.
func (m Model) dialog() (title string, lines []string, ok bool) {
	w := m.com.Width
	switch {
	case m.modal != nil:
		t, l := m.modal.page(m.frame, w)
		return t, l, true
	case m.overlay == overlayHelp:
		return "Keys", helpLines(m.com), true
	case m.overlay == overlayEnv:
		return "Environment for clients", envLines(m.com, m.envText, m.copyNote), true
	case m.overlay == overlayConfirmLogout:
		return "Log out of " + m.confirmFor + "?", confirmLines(m.com), true
	case m.overlay == overlayEntry:
		return "Log · " + m.entry.Provider, entryLines(m.com, m.entry), true
	case m.overlay == overlayRequest:
		return "Request · " + m.request.Provider, requestLines(m.com, m.request), true
	}
	return "", nil, false
}

// helpLines lays every binding of the keymap out in as many columns as the
// width allows; the dialog scrolls when they still do not fit.
func helpLines(com *Common) []string {
	st := com.Styles
	var all []key.Binding
	for _, group := range com.Keys.FullHelp() {
		for _, b := range group {
			if b.Enabled() {
				all = append(all, b)
			}
		}
	}
	keyW, descW := 0, 0
	for _, b := range all {
		keyW = max(keyW, ansi.StringWidth(b.Help().Key))
		descW = max(descW, ansi.StringWidth(b.Help().Desc))
	}
	const gap = 3
	inner := max(com.Width-2, 20)
	colW := keyW + 2 + descW
	cols := max(1, min(3, (inner+gap)/(colW+gap)))
	rows := (len(all) + cols - 1) / cols
	lines := make([]string, rows)
	for i, b := range all {
		r, c := i%rows, i/rows
		cell := st.HelpKey.Render(fit(b.Help().Key, keyW)) + "  " + st.HelpDesc.Render(fit(b.Help().Desc, descW))
		if c > 0 {
			cell = strings.Repeat(" ", gap) + cell
		}
		lines[r] += cell
	}
	for i, l := range lines {
		lines[i] = " " + clip(l, com.Width-1)
	}
	return lines
}

func confirmLines(com *Common) []string {
	st := com.Styles
	lines := wrapText("Its stored credentials are deleted; you will need to log in again to use it.", com.Width)
	return append(lines, "", st.Alarm.Render("y")+" log out · "+st.HelpKey.Render("n/esc")+" keep")
}

// envLines are the exports, each printed whole: a command longer than the
// screen continues on the next line instead of being cut.
func envLines(com *Common, text, note string) []string {
	st := com.Styles
	w := com.Width
	var lines []string
	if note != "" {
		lines = append(lines, wrapText(note, w)...)
	}
	lines = append(lines, wrapText("Or select them here; they are printed without a frame:", w)...)
	lines = append(lines, "")
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			for _, p := range chunk(l, w) {
				lines = append(lines, st.Muted.Render(p))
			}
			continue
		}
		lines = append(lines, chunk(l, w)...)
	}
	return lines
}

// entryLines show one log entry whole, wrapped.
func entryLines(com *Common, e entry) []string {
	st := com.Styles
	lines := []string{st.Label.Render(e.Time.Format("2006-01-02 15:04:05")), ""}
	text := wrapText(e.Text, com.Width)
	if e.Level == levelError {
		for i, l := range text {
			text[i] = st.Alarm.Render(l)
		}
	}
	return append(lines, text...)
}
