package tui

import (
	"time"

	"github.com/jonboulle/clockwork"
)

// Common is what every pane shares: the screen size, the styles, the keymap,
// the clock that timers wait on, and the time of the last tick, so that no
// View needs to ask the clock.
type Common struct {
	Width, Height int
	Styles        *Styles
	Keys          *KeyMap
	Clock         clockwork.Clock
	Now           time.Time
}
