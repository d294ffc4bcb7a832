package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// wideSplit is the width from which details and activity sit side by side.
const wideSplit = 110

// lipglossDefault is the renderer for the real terminal.
func lipglossDefault() *lipgloss.Renderer { return lipgloss.DefaultRenderer() }

// layout hands every pane its area after a resize or a change of panes.
func (m Model) layout() Model {
	w, h := m.com.Width, m.com.Height
	rest := h - 2 // status line and footer
	tableH := min(len(m.table.rows)+1, max(rest-4, 2))
	lower := max(rest-tableH-1, 0) // below the section rule
	m.table = m.table.SetSize(w, tableH)
	switch {
	case m.showDetail && w >= wideSplit:
		dw := w / 2
		m.detail = m.detail.SetSize(dw, lower)
		m.activity = m.activity.SetSize(w-dw-3, lower)
	case m.showDetail:
		m.detail = m.detail.SetSize(w, lower)
		m.activity = m.activity.SetSize(w, 0)
	default:
		m.detail = m.detail.SetSize(0, 0)
		m.activity = m.activity.SetSize(w, lower)
	}
	return m
}

// View draws the dashboard from state alone: no clock, no I/O.
func (m Model) View() string {
	w, h := m.com.Width, m.com.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	switch {
	case m.modal != nil:
		return m.framed(m.modal.View(m.frame))
	case m.overlay == overlayHelp:
		return m.framed(helpOverlay(m.com))
	case m.overlay == overlayEnv:
		return m.framed(envOverlay(m.com, m.envText, m.envCopied))
	case m.overlay == overlayConfirmLogout:
		return m.framed(confirmLogout(m.com, m.confirmFor))
	}
	var b strings.Builder
	b.WriteString(m.statusText)
	b.WriteByte('\n')
	b.WriteString(m.table.View())
	b.WriteByte('\n')
	b.WriteString(m.lower())
	b.WriteByte('\n')
	b.WriteString(m.footText)
	return b.String()
}

// framed draws a dialog centred between the status line and the footer.
func (m Model) framed(box string) string {
	w, h := m.com.Width, m.com.Height
	body := centre(box, w, max(h-2, 1))
	return block(m.statusText+"\n"+body+"\n"+m.footText, w, h)
}

// lower is the section under the table: activity, details, or both.
func (m Model) lower() string {
	w := m.com.Width
	st := m.com.Styles
	sel := m.table.Selected()
	lowerH := m.com.Height - 2 - strings.Count(m.table.View(), "\n") - 2
	switch {
	case m.showDetail && w >= wideSplit:
		dw := w / 2
		lw := w - dw - 3
		left := strings.Split(block(m.detail.View(), dw, lowerH), "\n")
		right := strings.Split(block(m.activity.View(), lw, lowerH), "\n")
		var b strings.Builder
		b.WriteString(rule(st, "Details · "+sel, dw) + "   " + rule(st, "Activity", lw))
		for i := range left {
			b.WriteString("\n" + fit(left[i], dw) + st.Muted.Render(" │ ") + right[i])
		}
		return b.String()
	case m.showDetail:
		return rule(st, "Details · "+sel, w) + "\n" + block(m.detail.View(), w, lowerH)
	default:
		return rule(st, "Activity · newest first", w) + "\n" + block(m.activity.View(), w, lowerH)
	}
}

// footer shows the last message when there is one, else the short help.
func (m Model) footer() string {
	st := m.com.Styles
	if m.flash != "" {
		switch m.flashLevel {
		case levelError:
			return st.Alarm.Render(clip(m.flash, m.com.Width))
		case levelWarn:
			return st.Warning.Render(clip(m.flash, m.com.Width))
		}
		return st.Calm.Render(clip(m.flash, m.com.Width))
	}
	h := m.help
	h.Width = m.com.Width
	if m.modal != nil {
		return h.ShortHelpView(m.modalHelp())
	}
	return h.View(m.com.Keys)
}
