package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// StatuslineOptions are the inputs of `statusline`.
type StatuslineOptions struct {
	IO  *iostreams.IO
	App func() (*app.App, error)
	Now func() time.Time
	// OpenLedger opens the usage ledger the App reads the quota from.
	OpenLedger func(ctx context.Context) (close func(), err error)

	Context   context.Context
	Providers []string
}

// NewCmdStatusline builds `statusline [<provider>...]`.
func NewCmdStatusline(f *Factory, runF func(*StatuslineOptions) error) *cobra.Command {
	opts := &StatuslineOptions{IO: f.IO, App: f.appFunc(), Now: f.now, OpenLedger: f.openLedger}
	cmd := &cobra.Command{
		Use:   "statusline [<provider>...]",
		Short: "Print one short quota line for Claude Code's statusLine or tmux's status-right",
		Long: `Print one line such as "claude 5h 42% ↻1h10m · 7d 18%": per provider its
windows in use, the binding one first with its reset countdown, "!" after a
rejected one. It only reads the usage ledger (never the network), so it is
cheap enough to run on every prompt. Prints an empty line when nothing has
been observed yet.`,
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Providers = a
			opts.Context = c.Context()
			if runF != nil {
				return runF(opts)
			}
			return statuslineRun(opts)
		},
	}
	return cmd
}

func statuslineRun(opts *StatuslineOptions) error {
	ctx := contextOr(opts.Context)
	closeLedger, err := opts.OpenLedger(ctx)
	if err != nil {
		return err
	}
	defer closeLedger()
	a, err := opts.App()
	if err != nil {
		return err
	}
	list, err := quotaList(ctx, a, opts.Providers)
	if err != nil {
		return err
	}
	writeStatusline(opts.IO.Out, list, opts.Now())
	return nil
}

// statuslineWindows is how many windows a provider shows at most.
const statuslineWindows = 3

// writeStatusline writes the one line: providers separated by " | ", each
// "name win pct ↻reset · win pct". The numbers are the ones `quota` and
// the dashboard show (quota.Window.Percent).
func writeStatusline(w io.Writer, list []quota.Snapshot, now time.Time) {
	parts := make([]string, 0, len(list))
	// A provider's account is named only when it has several: the line
	// is short, and one account needs no name.
	shown := map[string]int{}
	for _, s := range list {
		if len(s.Windows) > 0 {
			shown[s.Provider]++
		}
	}
	for _, s := range list {
		if len(s.Windows) == 0 {
			continue
		}
		who := termsafe.Line(s.Provider)
		if s.Account != "" && shown[s.Provider] > 1 {
			who += "@" + termsafe.Line(s.Account)
		}
		var wins []string
		for _, win := range statuslineOrder(s) {
			item := termsafe.Line(win.Name) + " " + win.Percent()
			if win.Status == quota.Rejected {
				item += "!"
			}
			if win.Name == s.Binding && !win.ResetsAt.IsZero() && !win.Reset(now) {
				item += " ↻" + quota.Duration(win.ResetsAt.Sub(now))
			}
			wins = append(wins, item)
		}
		parts = append(parts, who+" "+strings.Join(wins, " · "))
	}
	fmt.Fprintln(w, strings.Join(parts, " | "))
}

// statuslineOrder is the binding window, then the others in screen order,
// at most statuslineWindows.
func statuslineOrder(s quota.Snapshot) []quota.Window {
	out := make([]quota.Window, 0, statuslineWindows)
	if b, ok := s.Window(s.Binding); ok {
		out = append(out, b)
	}
	for _, win := range s.Windows {
		if len(out) == statuslineWindows {
			break
		}
		if win.Name != s.Binding {
			out = append(out, win)
		}
	}
	return out
}
