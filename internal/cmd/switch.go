package cmd

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
)

// SwitchOptions are the inputs of `auth switch`.
type SwitchOptions struct {
	IO     *iostreams.IO
	App    func() (*app.App, error)
	Logger *slog.Logger

	Context  context.Context
	Provider string
	Account  string
}

// NewCmdSwitch builds `auth switch <provider> [<account>]`.
func NewCmdSwitch(f *Factory, runF func(*SwitchOptions) error) *cobra.Command {
	opts := &SwitchOptions{IO: f.IO, App: f.appFunc(), Logger: f.logger()}
	return &cobra.Command{
		Use:   "switch <provider> [<account>]",
		Short: "Make another of a provider's accounts the active one",
		Long: `Make another account the one requests to /<provider>/ use, in this process
and in every running serve or dashboard (within a second). Without
<account>, a terminal offers a choice; otherwise the next account in order
becomes active.`,
		Example: `  ccproxy-tui auth switch claude work
  ccproxy-tui auth switch codex`,
		Args:              args(cobra.RangeArgs(1, 2)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Provider, opts.Context = a[0], c.Context()
			if len(a) == 2 {
				opts.Account = a[1]
				if err := checkAccountFlag(opts.Account); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return switchRun(opts)
		},
	}
}

func switchRun(opts *SwitchOptions) error {
	ctx := contextOr(opts.Context)
	a, err := opts.App()
	if err != nil {
		return err
	}
	p, err := a.Provider(opts.Provider)
	if err != nil {
		return err
	}
	names, active, err := a.Accounts(ctx, p.Name)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("%s has no accounts to switch between; log in with: ccproxy-tui auth login %s", p.Name, p.Name)
	}
	target := opts.Account
	if target == "" {
		target = nextAccount(names, active)
		if opts.IO.CanPrompt() && len(names) > 1 {
			if target, err = pickAccount(opts.IO, p.Name, names, active, target); err != nil {
				return err
			}
		}
	}
	if err := a.Switch(ctx, p.Name, target); err != nil {
		return err
	}
	opts.Logger.Info("switched account", "provider", p.Name, "account", target)
	fmt.Fprintf(opts.IO.ErrOut, "✓ Switched %s to account %s\n", p.Name, termsafe.Line(target))
	return nil
}

// nextAccount is the account after active in names, wrapping around.
func nextAccount(names []string, active string) string {
	i := slices.Index(names, active)
	return names[(i+1)%len(names)]
}

// pickAccount lists the accounts and reads a choice; an empty answer takes
// def.
func pickAccount(ios *iostreams.IO, provider string, names []string, active, def string) (string, error) {
	w := ios.ErrOut
	fmt.Fprintf(w, "Accounts of %s:\n", provider)
	for i, n := range names {
		mark := " "
		if n == active {
			mark = "*"
		}
		fmt.Fprintf(w, "  %s %d. %s\n", mark, i+1, termsafe.Line(n))
	}
	fmt.Fprintf(w, "? Which account should be active? [%d] ", slices.Index(names, def)+1)
	line, err := bufio.NewReader(ios.In).ReadString('\n')
	ans := strings.TrimSpace(line)
	if ans == "" {
		if err != nil {
			return "", ErrCancelled
		}
		return def, nil
	}
	if n, err := strconv.Atoi(ans); err == nil && n >= 1 && n <= len(names) {
		return names[n-1], nil
	}
	if slices.Contains(names, ans) {
		return ans, nil
	}
	return "", fmt.Errorf("%s has no account %q; its accounts: %s", provider, termsafe.Line(ans), strings.Join(names, ", "))
}
