package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// scroller is a pane's window onto more lines than it has rows: the
// details and the quota meters scroll the same way.
type scroller struct {
	offset int // first line shown
	lines  int // lines the pane rendered last
}

// key moves the window a line on the cursor keys and reports whether msg
// was one of them.
func (s *scroller) key(msg tea.KeyMsg, k *KeyMap, height int) bool {
	switch {
	case key.Matches(msg, k.Up):
		s.offset = max(s.offset-1, 0)
	case key.Matches(msg, k.Down):
		s.offset = max(min(s.offset+1, s.lines-height), 0)
	default:
		return false
	}
	return true
}

// window notes lines as the pane's content and returns the ones from the
// window's top, the offset kept within them.
func (s *scroller) window(lines []string, height int) string {
	s.lines = len(lines)
	s.offset = max(min(s.offset, len(lines)-height), 0)
	return strings.Join(lines[s.offset:], "\n")
}
