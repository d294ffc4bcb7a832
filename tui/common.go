package tui

import "time"

// Common is what every pane shares: the screen size, the styles, the keymap
// and the time of the last tick, so that no View needs to ask the clock.
type Common struct {
	Width, Height int
	Styles        *Styles
	Keys          *KeyMap
	Now           time.Time
}
