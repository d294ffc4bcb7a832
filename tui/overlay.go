package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
)

// overlay is a dialog drawn over the dashboard that takes the keyboard.
type overlay int

const (
	overlayNone overlay = iota
	overlayHelp
	overlayEnv
	overlayConfirmLogout
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

func helpOverlay(com *Common, h help.Model) string {
	st := com.Styles
	h.Width = max(com.Width-8, 20)
	body := st.Title.Render("Keys") + "\n\n" + h.FullHelpView(com.Keys.FullHelp()) +
		"\n\n" + st.Muted.Render("? or esc to close")
	return st.Modal.Render(body)
}

func confirmLogout(com *Common, provider string) string {
	st := com.Styles
	body := st.Title.Render("Log out of "+provider+"?") + "\n\n" +
		"Its stored credentials are deleted; you will\nneed to log in again to use it.\n\n" +
		st.Alarm.Render("y") + " log out · " + st.HelpKey.Render("n/esc") + " keep"
	return st.Modal.Render(body)
}

func envOverlay(com *Common, text string, copied bool) string {
	st := com.Styles
	inner := max(min(com.Width-8, 100), 20)
	head := "Sent to your clipboard (OSC 52). If your terminal does not\nsupport that, copy them from here:"
	if !copied {
		head = "Copy these into your shell:"
	}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = clip(l, inner)
	}
	body := st.Title.Render("Environment for clients") + "\n\n" + head + "\n\n" +
		strings.Join(lines, "\n") + "\n\n" + st.Muted.Render("esc to close")
	return st.Modal.Render(body)
}
