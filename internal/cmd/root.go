package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/provname"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
)

// RootOptions are the dashboard's inputs.
type RootOptions struct {
	IO     *iostreams.IO
	Logger *slog.Logger
	// RunDashboard shows the dashboard; nil when it is not built in.
	RunDashboard func(ctx context.Context, opts DashboardOptions) error
	// OpenLedger opens the usage ledger the dashboard shares quota through.
	OpenLedger func(ctx context.Context) (close func(), err error)
	OpenApp    OpenAppFunc

	Demo    bool
	Context context.Context
}

// NewCmdRoot builds the whole command tree. runF replaces the dashboard run
// in tests.
func NewCmdRoot(f *Factory, runF func(*RootOptions) error) *cobra.Command {
	opts := &RootOptions{IO: f.IO, Logger: f.logger(), RunDashboard: f.RunDashboard, OpenLedger: f.openLedger, OpenApp: f.openApp}
	cmd := &cobra.Command{
		Use:   "ccproxy-tui",
		Short: "Log in to LLM subscriptions, keep their tokens fresh, and serve them to local tools",
		Long: `ccproxy-tui logs in to LLM subscriptions (Claude, Codex, Copilot, any OIDC
provider) with OAuth, keeps their tokens fresh, and serves them to local tools
through an embedded proxy. Without a subcommand it opens the dashboard.

Settings come from command-line flags, then the environment, then the config
file, then defaults:

  CCPROXY_TUI_CONFIG    the config file (default $XDG_CONFIG_HOME/ccproxy-tui/config.toml)
  CCPROXY_TUI_LISTEN    [proxy] listen
  CCPROXY_TUI_API_KEY   [proxy] api_key
  CCPROXY_TUI_STORE     [store] backend (file or keyring)
  CCPROXY_TUI_GRACE     [refresh] grace

The log is $XDG_STATE_HOME/ccproxy-tui/ccproxy-tui.log, with tokens redacted.
Exit status: 0 success, 1 failure, 2 usage error.`,
		Args:          unknownSubcommand,
		Version:       versionLine(f),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Context = c.Context()
			if runF != nil {
				return runF(opts)
			}
			return rootRun(opts)
		},
	}
	cmd.SetIn(f.IO.In)
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	cmd.PersistentFlags().StringVar(&f.configFlag, "config", "", "config file (default $XDG_CONFIG_HOME/ccproxy-tui/config.toml, or $CCPROXY_TUI_CONFIG)")
	cmd.Flags().BoolVar(&opts.Demo, "demo", false, "show the dashboard with fake providers; nothing is real")

	cmd.AddCommand(NewCmdAuth(f))
	cmd.AddCommand(NewCmdServe(f, nil))
	cmd.AddCommand(NewCmdEnv(f, nil))
	cmd.AddCommand(NewCmdProviders(f, nil))
	cmd.AddCommand(NewCmdUsage(f, nil))
	cmd.AddCommand(NewCmdVersion(f, nil))
	cmd.AddCommand(NewCmdQuota(f, nil))
	cmd.AddCommand(NewCmdStatusline(f, nil))
	cmd.InitDefaultCompletionCmd()
	cmd.SetVersionTemplate("{{.Version}}\n")
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	}
	groupsRefuseUnknown(cmd)
	return cmd
}

// groupsRefuseUnknown makes every command that only groups others (auth,
// completion) refuse an unknown subcommand with exit 2 and cobra's
// suggestions, instead of printing its help and exiting 0.
func groupsRefuseUnknown(c *cobra.Command) {
	for _, sub := range c.Commands() {
		groupsRefuseUnknown(sub)
	}
	if c.Parent() == nil || !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = unknownSubcommand
	c.RunE = func(c *cobra.Command, a []string) error { return c.Help() }
}

// unknownSubcommand refuses arguments where a subcommand was expected,
// naming the closest ones ("Did you mean this?").
func unknownSubcommand(c *cobra.Command, a []string) error {
	if len(a) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", a[0], c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's own default, set only on its path
	}
	if s := c.SuggestionsFor(a[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return &FlagError{Err: errors.New(msg)}
}

func rootRun(opts *RootOptions) error {
	if opts.RunDashboard == nil {
		return errors.New("the dashboard is not built into this binary; use the auth, serve and env commands")
	}
	if !opts.IO.IsStdinTTY() || !opts.IO.IsStdoutTTY() {
		return flagErrorf("the dashboard needs a terminal (stdin and stdout); without one, run: ccproxy-tui serve (the proxy and refresher) or ccproxy-tui auth status")
	}
	ctx, stop := signal.NotifyContext(opts.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if !opts.Demo {
		closeLedger, err := opts.OpenLedger(ctx)
		if err != nil {
			opts.Logger.Warn("quota observations stay in this process only", "err", err)
		}
		defer closeLedger()
	}
	a, release, err := opts.OpenApp(ctx, opts.Demo, opts.Logger, nil)
	if err != nil {
		return err
	}
	defer release()
	return opts.RunDashboard(ctx, DashboardOptions{App: a, Demo: opts.Demo, IO: opts.IO, Logger: opts.Logger})
}

// NewCmdAuth groups the credential commands.
func NewCmdAuth(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth <command>",
		Short: "Log in, log out, and inspect or refresh credentials",
		Args:  args(cobra.NoArgs),
	}
	cmd.AddCommand(NewCmdLogin(f, nil))
	cmd.AddCommand(NewCmdLogout(f, nil))
	cmd.AddCommand(NewCmdStatus(f, nil))
	cmd.AddCommand(NewCmdRefresh(f, nil))
	cmd.AddCommand(NewCmdToken(f, nil))
	cmd.AddCommand(NewCmdImport(f, nil))
	cmd.AddCommand(NewCmdSwitch(f, nil))
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	}
	return cmd
}

// completeProviders completes the first argument with the enabled
// providers' names.
func completeProviders(f *Factory) cobra.CompletionFunc {
	return func(_ *cobra.Command, a []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(a) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ap, err := f.App(nil)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, p := range ap.Providers() {
			if provname.Valid(p.Name) && strings.HasPrefix(p.Name, prefix) {
				out = append(out, cobra.CompletionWithDesc(p.Name, termsafe.Line(p.DisplayName)))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
