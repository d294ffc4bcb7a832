package tui

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Styles are every look the dashboard uses, named by meaning. They are built
// once from a renderer, so a test can fix the colour profile without
// touching global state.
type Styles struct {
	Title    lipgloss.Style
	Header   lipgloss.Style // table column titles
	Selected lipgloss.Style // the row under the cursor
	Muted    lipgloss.Style
	Calm     lipgloss.Style // more than 30 minutes left, proxy running
	Warning  lipgloss.Style // under 30 minutes
	Alarm    lipgloss.Style // under 5 minutes, expired, errors
	Label    lipgloss.Style // detail pane field names
	Border   lipgloss.Style // pane frames
	Modal    lipgloss.Style // dialogs and overlays
	BigCode  lipgloss.Style // the device user code
	HelpKey  lipgloss.Style
	HelpDesc lipgloss.Style
	HelpSep  lipgloss.Style
	// Colour reports whether these styles use colour at all.
	Colour bool
}

// NewStyles builds the coloured styles for r; the colours adapt to light and
// dark backgrounds.
func NewStyles(r *lipgloss.Renderer) *Styles {
	var (
		accent = lipgloss.AdaptiveColor{Light: "#5A32A3", Dark: "#B294FF"}
		muted  = lipgloss.AdaptiveColor{Light: "#6B6B6B", Dark: "#8A8A8A"}
		calm   = lipgloss.AdaptiveColor{Light: "#1F7A3A", Dark: "#5FD787"}
		warn   = lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#FFD75F"}
		alarm  = lipgloss.AdaptiveColor{Light: "#B3261E", Dark: "#FF6B6B"}
		border = lipgloss.AdaptiveColor{Light: "#B8B8B8", Dark: "#4E4E4E"}
	)
	return &Styles{
		Title:    r.NewStyle().Bold(true).Foreground(accent),
		Header:   r.NewStyle().Bold(true).Foreground(muted),
		Selected: r.NewStyle().Bold(true).Foreground(accent),
		Muted:    r.NewStyle().Foreground(muted),
		Calm:     r.NewStyle().Foreground(calm),
		Warning:  r.NewStyle().Foreground(warn),
		Alarm:    r.NewStyle().Foreground(alarm).Bold(true),
		Label:    r.NewStyle().Foreground(muted),
		Border:   r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(border),
		Modal:    r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 2),
		BigCode:  r.NewStyle().Bold(true).Foreground(accent).Border(lipgloss.DoubleBorder()).BorderForeground(accent).Padding(0, 2),
		HelpKey:  r.NewStyle().Foreground(accent),
		HelpDesc: r.NewStyle().Foreground(muted),
		HelpSep:  r.NewStyle().Foreground(border),
		Colour:   true,
	}
}

// NoColorStyles are the styles for NO_COLOR terminals: no colour and no
// attributes, only layout. Urgency still shows in the state column's words.
func NoColorStyles() *Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	plain := r.NewStyle()
	return &Styles{
		Title:    plain,
		Header:   plain,
		Selected: plain,
		Muted:    plain,
		Calm:     plain,
		Warning:  plain,
		Alarm:    plain,
		Label:    plain,
		Border:   plain.Border(lipgloss.NormalBorder()),
		Modal:    plain.Border(lipgloss.NormalBorder()).Padding(0, 2),
		BigCode:  plain.Border(lipgloss.DoubleBorder()).Padding(0, 2),
		HelpKey:  plain,
		HelpDesc: plain,
		HelpSep:  plain,
	}
}
