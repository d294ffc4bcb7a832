package tui

import (
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// newFilterInput is the line typed after /, drawn in the footer.
func newFilterInput(st *Styles) textinput.Model {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "provider or log text"
	in.PromptStyle = st.HelpKey
	in.PlaceholderStyle = st.Muted
	in.Cursor.SetMode(cursor.CursorStatic)
	in.CharLimit = 64
	return in
}

// filterKey handles keys while the filter has the keyboard: every change
// narrows the panes at once; enter keeps the filter, esc clears it.
func (m Model) filterKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.com.Keys
	switch {
	case key.Matches(msg, k.ForceQuit):
		return m.quit()
	case key.Matches(msg, k.Cancel):
		m.filtering = false
		m.filterIn.Blur()
		return m.setFilter("")
	case key.Matches(msg, k.Submit):
		m.filtering = false
		m.filterIn.Blur()
		return m, nil
	}
	var cmd tea.Cmd
	m.filterIn, cmd = m.filterIn.Update(msg)
	if v := m.filterIn.Value(); v != m.filter {
		next, fcmd := m.setFilter(v)
		return next, tea.Batch(cmd, fcmd)
	}
	return m, cmd
}

// setFilter tells every pane the text to match.
func (m Model) setFilter(text string) (tea.Model, tea.Cmd) {
	m.filter = text
	m, cmd := m.broadcast(filterMsg{Text: text})
	return m.layout(), cmd
}
