package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// frameRate caps how often the renderer wakes to paint. bubbletea's
// renderer wakes on every frame even when nothing changed; at its default
// 60 fps an idle dashboard used 8.5 ms of CPU a second, at 10 fps it uses
// 2 ms (measured over 30 s in tmux from /proc/<pid>/stat), and a key is
// still drawn within 100 ms.
const frameRate = 10

// Run shows the dashboard on the terminal until the user quits. It restores
// the terminal and stops the proxy before returning.
func Run(ctx context.Context, opts Options) error {
	if opts.Backend == nil {
		return fmt.Errorf("dashboard: no backend")
	}
	if noColor(os.Getenv) {
		opts.NoColor = true
	}
	if !opts.NoColor && opts.Styles == nil {
		// Ask the terminal for its colours now, while nothing else reads
		// its input; lipgloss would otherwise query lazily mid-program and
		// the reply could land in the key stream.
		r := lipgloss.DefaultRenderer()
		_ = r.ColorProfile()
		_ = r.HasDarkBackground()
	}
	if opts.Clipboard == nil {
		opts.Clipboard = os.Stderr
	}
	opts.Mouse = true
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := tea.NewProgram(New(ctx, opts), tea.WithAltScreen(), tea.WithContext(ctx), tea.WithFPS(frameRate))
	_, err := p.Run()
	cancel()
	if opts.Proxy != nil && opts.Proxy.Running() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if serr := opts.Proxy.Stop(sctx); serr != nil && err == nil {
			err = fmt.Errorf("dashboard: stop proxy: %w", serr)
		}
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}

// noColor reports whether the environment asks for no colour: NO_COLOR set
// to anything non-empty (no-color.org), or a dumb terminal.
func noColor(getenv func(string) string) bool {
	return getenv("NO_COLOR") != "" || getenv("TERM") == "dumb"
}
