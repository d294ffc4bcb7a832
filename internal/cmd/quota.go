package cmd

import (
	"context"
	"encoding/json"
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

// QuotaOptions are the inputs of `quota`.
type QuotaOptions struct {
	IO  *iostreams.IO
	App func() (*app.App, error)
	Now func() time.Time
	// OpenLedger opens the usage ledger the App reads the quota from.
	OpenLedger func(ctx context.Context) (close func(), err error)

	Context  context.Context
	Provider string
	JSON     bool
}

// NewCmdQuota builds `quota [<provider>] [--json]`.
func NewCmdQuota(f *Factory, runF func(*QuotaOptions) error) *cobra.Command {
	opts := &QuotaOptions{IO: f.IO, App: f.appFunc(), Now: f.now, OpenLedger: f.openLedger}
	cmd := &cobra.Command{
		Use:   "quota [<provider>]",
		Short: "Show how much of each subscription is left, which limit binds, and when it resets",
		Long: `Show each provider's quota windows: percent used, when each resets, which one
binds, and at the pace so far whether it runs out first. The numbers are the
providers' own, read from the responses that went through the proxy (serve or
the dashboard) and kept in the usage ledger; when nothing is fresher than 10
minutes, the provider's usage endpoint is asked, at most every 5 minutes.

--json prints an array of {provider, account, status, binding, source,
observed_at, windows: [{name, used_percent, resets_at, window_minutes,
status, usage_unknown}]}, used_percent always 0–100 used. usage_unknown is
true (and present) only when the server named a window and its status but
not how full it is; used_percent is then 0, or 100 when rejected.

Exit status: 1 when a window is rejected (the limit is reached).`,
		Args:              args(cobra.MaximumNArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			if len(a) == 1 {
				opts.Provider = a[0]
			}
			opts.Context = c.Context()
			if runF != nil {
				return runF(opts)
			}
			return quotaRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the quota as a JSON array")
	return cmd
}

func quotaRun(opts *QuotaOptions) error {
	ctx := contextOr(opts.Context)
	closeLedger, err := opts.OpenLedger(ctx)
	if err != nil {
		return fmt.Errorf("%w; quota is read from the usage ledger, check that its folder is writable", err)
	}
	defer closeLedger()
	a, err := opts.App()
	if err != nil {
		return err
	}
	if opts.Provider != "" {
		if _, err := a.Provider(opts.Provider); err != nil {
			return err
		}
	}
	for _, p := range a.PollQuota(ctx, optional(opts.Provider)...) {
		switch {
		case p.Notice != "":
			fmt.Fprintln(opts.IO.ErrOut, termsafe.Line(p.Notice))
		case p.Err != nil:
			fmt.Fprintf(opts.IO.ErrOut, "%s; showing what traffic said\n", termsafe.Line(p.Err.Error()))
		}
	}
	list, err := quotaList(ctx, a, optional(opts.Provider))
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return err
		}
	} else {
		printQuota(opts.IO.Out, list, opts.Now())
		if len(list) == 0 {
			fmt.Fprintln(opts.IO.ErrOut, noQuotaYet(opts.Provider))
		}
	}
	for _, s := range list {
		if s.Rejected() {
			return ErrSilent
		}
	}
	return nil
}

func optional(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// noQuotaYet says what to do when nothing has been observed.
func noQuotaYet(provider string) string {
	who := "any provider"
	if provider != "" {
		who = termsafe.Line(provider)
	}
	return fmt.Sprintf("no quota observed for %s yet: send a request through the proxy (ccproxy-tui serve, or the dashboard with the proxy on)", who)
}

// quotaList is the latest quota of the named providers (all when none),
// checking each name against the registry so a typo is an error, not an
// empty list. A ledger that cannot be read is an error: the numbers would
// be this process's only, which for a CLI is none.
func quotaList(ctx context.Context, a *app.App, names []string) ([]quota.Snapshot, error) {
	want := map[string]bool{}
	for _, n := range names {
		p, err := a.Provider(n)
		if err != nil {
			return nil, err
		}
		want[p.Name] = true
	}
	all, err := a.Quotas(ctx)
	if err != nil {
		return nil, err
	}
	out := []quota.Snapshot{}
	for _, s := range all {
		if len(want) == 0 || want[s.Provider] {
			out = append(out, s)
		}
	}
	return out, nil
}

// meterWidth is the bar's width in cells in the human output.
const meterWidth = 20

// printQuota writes one block per account: a heading with the overall
// status and where the numbers came from, a meter per window (the binding
// one marked), and the pace forecast.
func printQuota(w io.Writer, list []quota.Snapshot, now time.Time) {
	labels := quota.Labels(list)
	for i, s := range list {
		if i > 0 {
			fmt.Fprintln(w)
		}
		who := termsafe.Line(labels[i])
		fmt.Fprintf(w, "%s  %s  (%s, %s ago)\n", who, s.Status, sourceLabel(s.Source), quota.Duration(now.Sub(s.ObservedAt)))
		nameWidth := 0
		for _, win := range s.Windows {
			nameWidth = max(nameWidth, len(termsafe.Line(win.Name)))
		}
		for _, win := range s.Windows {
			mark := " "
			if win.Name == s.Binding {
				mark = "*"
			}
			fmt.Fprintf(w, " %s %-*s  %s  %4s  %s%s\n", mark, nameWidth, termsafe.Line(win.Name), bar(win, meterWidth), win.Percent(),
				resetLabel(win, now), statusSuffix(win))
		}
		if f, ok := s.Pace(now); ok {
			fmt.Fprintf(w, "   %s\n", f)
		}
	}
	if len(list) > 0 {
		fmt.Fprintln(w, "\n * binds: the window that stops requests first")
	}
}

func sourceLabel(s quota.Source) string {
	if s == quota.FromEndpoint {
		return "from the usage endpoint"
	}
	return "from response headers"
}

// bar draws a meter of width cells, "[█████░░░░░]"; unknown fullness is
// all light.
func bar(w quota.Window, width int) string {
	n := 0
	if !w.UsageUnknown {
		n = int(w.UsedPercent/100*float64(width) + 0.5)
	}
	n = min(max(n, 0), width)
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", width-n) + "]"
}

func resetLabel(w quota.Window, now time.Time) string {
	switch {
	case w.ResetsAt.IsZero():
		return "no reset time given"
	case w.Reset(now):
		return "reset"
	}
	return "resets in " + quota.Duration(w.ResetsAt.Sub(now))
}

func statusSuffix(w quota.Window) string {
	switch w.Status {
	case quota.Rejected:
		return "  REJECTED"
	case quota.Warning:
		return "  warning"
	}
	return ""
}
