package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// pageView draws a dialog across the whole w×h area, without a border, so
// that text selected with the mouse carries no frame characters: a rule
// with the title (and the visible range when the lines do not fit), then
// the lines from off. lines must already fit w.
func pageView(st *Styles, title string, lines []string, off, w, h int) string {
	if h <= 0 || w <= 0 {
		return ""
	}
	vis := max(h-1, 0)
	off = clampOffset(off, len(lines), vis)
	if len(lines) > vis && vis > 0 {
		title += fmt.Sprintf(" · %d–%d of %d", off+1, min(off+vis, len(lines)), len(lines))
	}
	out := []string{rule(st, title, w)}
	out = append(out, lines[off:min(off+vis, len(lines))]...)
	return block(strings.Join(out, "\n"), w, h)
}

// clampOffset keeps a scroll offset within n lines shown vis at a time.
func clampOffset(off, n, vis int) int {
	return max(min(off, n-vis), 0)
}

// wrapText breaks prose at word boundaries into lines of at most w cells
// (a word longer than w is broken), keeping the text's own line breaks.
func wrapText(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// urlLines prints u whole, cut into pieces of w cells on lines of their own
// with nothing else on them. In colour each piece is also an OSC 8 link to
// the whole address, so a terminal that knows links opens it with a click.
func urlLines(st *Styles, u string, w int) []string {
	var out []string
	for _, part := range chunk(u, w) {
		if st.Colour {
			part = ansi.SetHyperlink(u) + part + ansi.ResetHyperlink()
		}
		out = append(out, part)
	}
	return out
}

// chunk breaks s into pieces of w bytes (URLs are ASCII) so all of it stays
// visible; it is the one place text is deliberately broken mid-word.
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

// scrollPage moves the open dialog by the scroll key msg, clamped to its
// lines.
func (m Model) scrollPage(msg tea.KeyMsg) Model {
	_, lines, ok := m.dialog()
	if !ok {
		return m
	}
	vis := max(m.com.Height-3, 1) // status line, footer, title rule
	k := m.com.Keys
	switch {
	case key.Matches(msg, k.Up):
		m.pageOff--
	case key.Matches(msg, k.Down):
		m.pageOff++
	case key.Matches(msg, k.LogUp):
		m.pageOff -= vis
	case key.Matches(msg, k.LogDown):
		m.pageOff += vis
	case key.Matches(msg, k.Top):
		m.pageOff = 0
	case key.Matches(msg, k.Bottom):
		m.pageOff = len(lines)
	}
	m.pageOff = clampOffset(m.pageOff, len(lines), vis)
	return m
}
