package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// fit makes s exactly w cells wide: cut with an ellipsis when too long,
// padded with spaces when short. Nothing the dashboard draws ever wraps.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-n)
}

// clip cuts s to at most w cells, with an ellipsis, without padding.
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

// rule draws a section title across the width: "── Activity ────".
func rule(st *Styles, title string, w int) string {
	head := "── " + title + " "
	if ansi.StringWidth(head) >= w {
		return st.Title.Render(clip(head, w))
	}
	return st.Title.Render(head) + st.Muted.Render(strings.Repeat("─", w-ansi.StringWidth(head)))
}

// focusRule is the rule over the pane that has the keyboard: the same
// title on a heavy line, so focus shows without colour too.
func focusRule(st *Styles, title string, w int) string {
	head := "━━ " + title + " "
	if ansi.StringWidth(head) >= w {
		return st.Selected.Render(clip(head, w))
	}
	return st.Selected.Render(head + strings.Repeat("━", w-ansi.StringWidth(head)))
}

// block forces text into exactly h lines of at most w cells.
func block(text string, w, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.Split(text, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(clip(lines[i], w))
		}
	}
	return b.String()
}
