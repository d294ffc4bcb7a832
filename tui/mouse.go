package tui

import tea "github.com/charmbracelet/bubbletea"

// wheelLines is how far one wheel notch scrolls the log.
const wheelLines = 3

// mouse handles the main screen's mouse: a click on a row selects it, a
// click in the log puts its cursor there, the wheel scrolls what it is
// over. Dialogs turn the mouse off (see mouseCmd) so that the terminal's
// own selection copies their text.
func (m Model) mouse(msg tea.MouseMsg) (Model, tea.Cmd) {
	if m.modal != nil || m.overlay != overlayNone {
		return m, nil
	}
	// The table starts under the status line and its header.
	tableTop, tableRows := 2, max(m.table.height-1, 0)
	inTable := msg.Y >= tableTop && msg.Y < tableTop+tableRows
	logTop := 1 + m.table.height + 1 // status line, table, the log's rule
	inLog := !m.showDetail && len(m.areas) > 0 && msg.Y >= logTop && msg.Y < logTop+m.areas[0].height
	switch {
	case msg.Button == tea.MouseButtonWheelUp || msg.Button == tea.MouseButtonWheelDown:
		up := msg.Button == tea.MouseButtonWheelUp
		if inTable {
			d := 1
			if up {
				d = -1
			}
			m.table = m.table.Move(d)
			return m.syncDetail(), nil
		}
		key := tea.KeyMsg{Type: tea.KeyDown}
		if up {
			key = tea.KeyMsg{Type: tea.KeyUp}
		}
		var cmd tea.Cmd
		for range wheelLines {
			m.activity, cmd = m.activity.Update(key)
		}
		return m, cmd
	case msg.Action != tea.MouseActionPress || msg.Button != tea.MouseButtonLeft:
		return m, nil
	case inTable:
		row := m.table.offset + msg.Y - tableTop
		if row < len(m.table.rows) {
			m.table = m.table.Move(row - m.table.cursor)
			m = m.syncDetail()
			if m.focus != paneTable {
				m = m.setFocus(paneTable)
			}
		}
	case inLog:
		if m.focus != paneLog {
			m = m.setFocus(paneLog)
		}
		m.activity = m.activity.moveTo(m.activity.vp.YOffset + msg.Y - logTop)
	}
	return m, nil
}

// mouseCmd turns mouse reporting on for the main screen and off in a
// dialog, when that changes. Off, the terminal selects text itself, which
// is how a URL or an export is copied by hand.
func (m Model) mouseCmd() (Model, tea.Cmd) {
	want := m.modal == nil && m.overlay == overlayNone && !m.quitting
	if want == m.mouseOn {
		return m, nil
	}
	m.mouseOn = want
	if want {
		return m, tea.EnableMouseCellMotion
	}
	return m, tea.DisableMouse
}
