package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// wideSplit is the width from which details and activity sit side by side.
const wideSplit = 110

// lipglossDefault is the renderer for the real terminal.
func lipglossDefault() *lipgloss.Renderer { return lipgloss.DefaultRenderer() }

// layout hands every pane its area after a resize or a change of panes:
// the table on top, the details (when shown) and the stacked panes below.
func (m Model) layout() Model {
	w, h := m.com.Width, m.com.Height
	rest := h - 2 // status line and footer
	tableH := min(len(m.table.rows)+1, max(rest-4, 2))
	lower := max(rest-tableH, 0) // rules included
	m.table = m.table.SetSize(w, tableH)
	stackW, stackH := w, lower
	switch {
	case m.showDetail && w >= wideSplit:
		dw := w / 2
		m.detail = m.detail.SetSize(dw, max(lower-1, 0))
		stackW = w - dw - 3
	case m.showDetail:
		m.detail = m.detail.SetSize(w, max(lower-1, 0))
		stackW, stackH = 0, 0
	default:
		m.detail = m.detail.SetSize(0, 0)
	}
	var areas []slot
	for _, a := range m.stacked() {
		if a.rows == nil || a.rows(&m) > 0 {
			areas = append(areas, a)
		}
	}
	// Each stacked pane has a rule line. A pane that knows its rows gets
	// them (at most half the room); the rest is shared out evenly, the
	// first panes taking what does not divide.
	content := max(stackH-len(areas), 0)
	sharing := 0
	for i := range areas {
		if areas[i].rows != nil {
			areas[i].height = min(areas[i].rows(&m), content/2)
			content -= areas[i].height
		} else {
			sharing++
		}
	}
	k := 0
	for i := range areas {
		areas[i].wid = stackW
		if areas[i].rows == nil {
			areas[i].height = content / max(sharing, 1)
			if k < content%max(sharing, 1) {
				areas[i].height++
			}
			k++
		}
		if stackW == 0 {
			areas[i].height = 0
		}
		areas[i].size(&m, areas[i].wid, areas[i].height)
	}
	m.areas = areas
	return m.keepFocus()
}

// View draws the dashboard from state alone: no clock, no I/O.
func (m Model) View() string {
	w, h := m.com.Width, m.com.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	if title, lines, ok := m.dialog(); ok {
		page := pageView(m.com.Styles, title, lines, m.pageOff, w, h-2)
		return block(m.statusText+"\n"+page+"\n"+m.footText, w, h)
	}
	var b strings.Builder
	b.WriteString(m.statusText)
	b.WriteByte('\n')
	b.WriteString(m.table.View())
	if lower := m.lower(); lower != "" {
		b.WriteByte('\n')
		b.WriteString(lower)
	}
	b.WriteByte('\n')
	b.WriteString(m.footText)
	return b.String()
}

// ruleFor draws the title rule over a pane, heavier when it has the focus.
func (m Model) ruleFor(id paneID, title string, w int) string {
	if m.focus == id {
		return focusRule(m.com.Styles, title, w)
	}
	return rule(m.com.Styles, title, w)
}

// stackLines draws the stacked panes, each under its rule, as lines.
func (m Model) stackLines(short bool) []string {
	var out []string
	for _, a := range m.areas {
		title := a.title
		if short {
			title = a.short
		}
		out = append(out, m.ruleFor(a.id, title, a.wid))
		if a.height > 0 {
			out = append(out, strings.Split(block(a.view(&m), a.wid, a.height), "\n")...)
		}
	}
	return out
}

// lower is the section under the table: the stacked panes, the details,
// or both side by side.
func (m Model) lower() string {
	w := m.com.Width
	st := m.com.Styles
	dh := m.detail.height
	title := "Details · " + m.table.Selected()
	switch {
	case m.showDetail && w >= wideSplit:
		dw := w / 2
		left := strings.Split(block(m.detail.View(), dw, dh), "\n")
		right := m.stackLines(true)
		var b strings.Builder
		b.WriteString(m.ruleFor(paneDetail, title, dw) + "   " + right[0])
		for i := range left {
			r := ""
			if i+1 < len(right) {
				r = right[i+1]
			}
			b.WriteString("\n" + fit(left[i], dw) + st.Muted.Render(" │ ") + r)
		}
		return b.String()
	case m.showDetail:
		return m.ruleFor(paneDetail, title, w) + "\n" + block(m.detail.View(), w, dh)
	default:
		return strings.Join(m.stackLines(false), "\n")
	}
}
