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

// helpOverlay lays every binding of the keymap out in as many columns as
// the screen allows, so all of them fit even at 60×15.
func helpOverlay(com *Common) string {
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
	inner := max(com.Width-6, 20)
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
	body := st.Title.Render("Keys") + "\n\n" + strings.Join(lines, "\n") +
		"\n\n" + st.Muted.Render("? or esc to close")
	return st.Modal.Padding(0, 1).Render(body)
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
