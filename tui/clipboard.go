package tui

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"

	osc52 "github.com/aymanbagabas/go-osc52/v2"
	tea "github.com/charmbracelet/bubbletea"
)

// copier puts text where the user can paste it: a plain OSC 52 sequence to
// the terminal and, inside tmux, tmux's own paste buffer too. tmux 3.3 and
// later drop the DCS-wrapped OSC 52 programs used to send, and by default
// ignore a plain one from inside, so load-buffer is the way that works.
type copier struct {
	term   io.Writer
	getenv func(string) string
	// tmux loads text into tmux's paste buffer.
	tmux func(ctx context.Context, text string) error
}

// copy returns the command that copies text; what names it for the note.
func (c copier) copy(ctx context.Context, what, text string) tea.Cmd {
	return func() tea.Msg {
		msg := clipboardMsg{What: what}
		if c.term != nil {
			_, msg.Err = osc52.New(text).WriteTo(c.term)
			msg.Sent = msg.Err == nil
		}
		if c.getenv != nil && c.getenv("TMUX") != "" && c.tmux != nil {
			if err := c.tmux(ctx, text); err != nil {
				msg.Err = err
			} else {
				msg.Tmux = true
			}
		}
		return msg
	}
}

// note says what a copy did, claiming a copy only when one is known to
// have happened: an OSC 52 sequence is sent, not confirmed.
func (msg clipboardMsg) note() string {
	switch {
	case msg.Tmux:
		return fmt.Sprintf("Copied the %s to tmux's paste buffer (prefix ] pastes it); tmux also passes it on to your terminal's clipboard where it may.", msg.What)
	case msg.Sent:
		return fmt.Sprintf("Sent the %s to your terminal's clipboard (OSC 52). If nothing pastes, your terminal does not allow it: select the text instead.", msg.What)
	case msg.Err != nil:
		return fmt.Sprintf("Could not copy the %s (%v): select the text instead.", msg.What, msg.Err)
	}
	return fmt.Sprintf("Nothing to copy the %s to: select the text instead.", msg.What)
}

// tmuxLoadBuffer runs tmux load-buffer, asking tmux (3.2+) to pass the text
// on to the outer terminal's clipboard too, and without that flag for an
// older tmux.
func tmuxLoadBuffer(ctx context.Context, text string) error {
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "tmux", args...)
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("tmux load-buffer: %v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := run("load-buffer", "-w", "-"); err == nil {
		return nil
	}
	return run("load-buffer", "-")
}
