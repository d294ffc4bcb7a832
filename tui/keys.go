package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the dashboard's one list of keys. The footer and the ? overlay
// are generated from it, so the help shown is always the help that works.
type KeyMap struct {
	Up, Down    key.Binding
	Details     key.Binding
	Login       key.Binding
	DeviceLogin key.Binding
	PasteLogin  key.Binding
	Logout      key.Binding
	Refresh     key.Binding
	// Switch makes the selected account its provider's active one.
	Switch key.Binding
	Proxy  key.Binding
	Env    key.Binding
	// Requests shows the requests view in the activity log's place.
	Requests       key.Binding
	LogUp, LogDown key.Binding
	// Top and Bottom jump to the ends of the focused list.
	Top, Bottom key.Binding
	// Filter narrows the providers and the log to what matches.
	Filter key.Binding
	// Focus and FocusBack move the keyboard between the panes.
	Focus, FocusBack key.Binding
	Help             key.Binding
	Quit             key.Binding
	// ForceQuit works even while a text input has the keyboard.
	ForceQuit key.Binding
	// Dialog keys.
	Cancel, Submit, Yes, No key.Binding
	// Close leaves an overlay; Scroll names the cursor keys inside one.
	Close, Scroll key.Binding
	// Move names the cursor keys on the main screen, for the footer only.
	Move key.Binding
	// Login dialog keys: copy and open the address, switch to pasting.
	Copy, Open, SwitchPaste key.Binding
	// CopyInInput and OpenInInput do the same while the paste input
	// takes the letters.
	CopyInInput, OpenInInput key.Binding
}

// DefaultKeyMap returns the keys of DESIGN.md.
func DefaultKeyMap() *KeyMap {
	return &KeyMap{
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Details:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Login:       key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "browser login")),
		DeviceLogin: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "device login")),
		PasteLogin:  key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "paste code")),
		Logout:      key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "logout")),
		Refresh:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh now")),
		Switch:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "switch account")),
		Proxy:       key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "start/stop proxy")),
		Env:         key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "copy env exports")),
		Requests:    key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "requests view")),
		LogUp:       key.NewBinding(key.WithKeys("pgup", "K"), key.WithHelp("pgup/K", "scroll log up")),
		LogDown:     key.NewBinding(key.WithKeys("pgdown", "J"), key.WithHelp("pgdn/J", "scroll log down")),
		Top:         key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/G", "top/bottom")),
		Bottom:      key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Focus:       key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		FocusBack:   key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		ForceQuit:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Cancel:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Submit:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "submit")),
		Yes:         key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		Close:       key.NewBinding(key.WithKeys("esc", "?", "q"), key.WithHelp("esc", "close")),
		Scroll:      key.NewBinding(key.WithKeys("up", "down", "k", "j", "pgup", "pgdown", "home", "end", "g", "G"), key.WithHelp("↑↓", "scroll")),
		Move:        key.NewBinding(key.WithKeys("up", "down", "k", "j"), key.WithHelp("↑↓", "move")),
		Copy:        key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy")),
		Open:        key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open")),
		SwitchPaste: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "paste code instead")),
		CopyInInput: key.NewBinding(key.WithKeys("ctrl+y"), key.WithHelp("ctrl+y", "copy URL")),
		OpenInInput: key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "open")),
		No:          key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),
	}
}

// ShortHelp is the footer.
func (k *KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Login, k.Refresh, k.Proxy, k.Env, k.Help, k.Quit}
}

// FullHelp is the ? overlay, one column per concern.
func (k *KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Details, k.LogUp, k.LogDown, k.Focus, k.Filter},
		{k.Login, k.DeviceLogin, k.PasteLogin, k.Logout, k.Refresh, k.Switch},
		{k.Proxy, k.Env, k.Requests, k.Help, k.Quit},
	}
}
