package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
)

// TokenOptions are the inputs of `auth token`.
type TokenOptions struct {
	IO     *iostreams.IO
	App    func() (*app.App, error)
	Logger *slog.Logger

	Context  context.Context
	Provider string
	Account  string
}

// NewCmdToken builds `auth token <provider> [--account NAME]`.
func NewCmdToken(f *Factory, runF func(*TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{IO: f.IO, App: f.appFunc(), Logger: f.logger()}
	cmd := &cobra.Command{
		Use:               "token <provider>",
		Short:             "Print a valid access token (refreshing it if needed), for scripts",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Provider, opts.Context = a[0], c.Context()
			if err := checkAccountFlag(opts.Account); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return tokenRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Account, "account", "", "the account's token (default: the active account)")
	return cmd
}

func tokenRun(opts *TokenOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	tok, err := a.Token(contextOr(opts.Context), selector(opts.Provider, opts.Account))
	if err != nil {
		return err
	}
	opts.Logger.Info("token handed out", "provider", opts.Provider)
	_, err = fmt.Fprintln(opts.IO.Out, tok)
	return err
}

// RefreshOptions are the inputs of `auth refresh`.
type RefreshOptions struct {
	IO     *iostreams.IO
	App    func() (*app.App, error)
	Logger *slog.Logger
	Now    func() time.Time

	Context  context.Context
	Provider string
	Account  string
}

// NewCmdRefresh builds `auth refresh <provider> [--account NAME]`.
func NewCmdRefresh(f *Factory, runF func(*RefreshOptions) error) *cobra.Command {
	opts := &RefreshOptions{IO: f.IO, App: f.appFunc(), Logger: f.logger(), Now: f.now}
	cmd := &cobra.Command{
		Use:               "refresh <provider>",
		Short:             "Refresh a provider's access token now",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Provider, opts.Context = a[0], c.Context()
			if err := checkAccountFlag(opts.Account); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return refreshRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Account, "account", "", "the account to refresh (default: the active account)")
	return cmd
}

func refreshRun(opts *RefreshOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	if opts.IO.IsStderrTTY() {
		// The token endpoint may take a while; say what is happening.
		fmt.Fprintf(opts.IO.ErrOut, "Refreshing %s…\n", opts.Provider)
	}
	c, err := a.Refresh(contextOr(opts.Context), selector(opts.Provider, opts.Account))
	if err != nil {
		opts.Logger.Warn("refresh failed", "provider", opts.Provider, "err", err.Error())
		return err
	}
	opts.Logger.Info("refreshed", "provider", opts.Provider, "expires_at", c.ExpiresAt)
	fmt.Fprintf(opts.IO.ErrOut, "✓ Refreshed %s%s\n", opts.Provider, expiresIn(c, opts.Now()))
	return nil
}

// LogoutOptions are the inputs of `auth logout`.
type LogoutOptions struct {
	IO     *iostreams.IO
	App    func() (*app.App, error)
	Logger *slog.Logger

	Context  context.Context
	Provider string
	Account  string
	All      bool
	Yes      bool
}

// NewCmdLogout builds `auth logout <provider> [--account NAME | --all] [--yes]`.
func NewCmdLogout(f *Factory, runF func(*LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: f.IO, App: f.appFunc(), Logger: f.logger()}
	cmd := &cobra.Command{
		Use:               "logout <provider>",
		Short:             "Delete a provider's stored credentials from this machine",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Provider, opts.Context = a[0], c.Context()
			if opts.All && opts.Account != "" {
				return flagErrorf("--account and --all cannot be used together")
			}
			if err := checkAccountFlag(opts.Account); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return logoutRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&opts.Account, "account", "", "the account to log out of (default: the active account)")
	cmd.Flags().BoolVar(&opts.All, "all", false, "log out of every account of the provider")
	return cmd
}

func logoutRun(opts *LogoutOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	ctx := contextOr(opts.Context)
	p, err := a.Provider(opts.Provider)
	if err != nil {
		return err
	}
	// As gh does, logging out of nothing is a failure that says so.
	if !opts.All {
		if st, err := a.Status(ctx, selector(p.Name, opts.Account)); err == nil && !st.Authenticated && st.AccessTokenPreview == "" && st.RefreshTokenPreview == "" {
			fmt.Fprintf(opts.IO.ErrOut, "not logged in to %s; nothing to log out of\n", selector(p.Name, opts.Account))
			return ErrSilent
		}
	}
	what := p.Name
	switch {
	case opts.All:
		what = "every account of " + p.Name
	case opts.Account != "":
		what = p.Name + " account " + opts.Account
	default:
		if _, active, err := a.Accounts(ctx, p.Name); err == nil && active != "" {
			what = p.Name + " account " + termsafe.Line(active)
		}
	}
	if !opts.Yes && opts.IO.CanPrompt() {
		ok, err := confirm(opts.IO, fmt.Sprintf("Delete the stored credentials of %s?", what))
		if err != nil {
			return err
		}
		if !ok {
			return ErrCancelled
		}
	}
	if opts.All {
		revs, err := a.LogoutAll(ctx, p.Name)
		for name, rev := range revs {
			who := p.Name
			if name != "" {
				who += " account " + termsafe.Line(name)
			}
			fmt.Fprintf(opts.IO.ErrOut, "✓ Logged out of %s: %s\n", who, termsafe.Line(rev.String()))
		}
		if err != nil {
			return err
		}
		opts.Logger.Info("logged out", "provider", p.Name, "all", true)
		return nil
	}
	rev, err := a.Logout(ctx, selector(p.Name, opts.Account))
	if err != nil {
		return err
	}
	opts.Logger.Info("logged out", "provider", p.Name, "account", opts.Account, "revocation", rev.String())
	switch {
	case rev.Revoked:
		fmt.Fprintf(opts.IO.ErrOut, "✓ Logged out of %s: %s, and the local credentials were deleted\n", what, termsafe.Line(rev.String()))
	case rev.Err != nil:
		fmt.Fprintf(opts.IO.ErrOut, "! %s: %s\n", what, termsafe.Line(rev.String()))
		fmt.Fprintf(opts.IO.ErrOut, "✓ Logged out of %s: the local credentials were deleted anyway\n", what)
	default:
		fmt.Fprintf(opts.IO.ErrOut, "✓ Logged out of %s: the local credentials were deleted; %s\n", what, termsafe.Line(rev.String()))
	}
	if _, active, err := a.Accounts(ctx, p.Name); err == nil && active != "" {
		fmt.Fprintf(opts.IO.ErrOut, "✓ %s account %s is active\n", p.Name, termsafe.Line(active))
	}
	return nil
}

// confirm asks a yes/no question on the terminal; the default is no.
func confirm(ios *iostreams.IO, question string) (bool, error) {
	fmt.Fprintf(ios.ErrOut, "? %s [y/N] ", question)
	line, err := bufio.NewReader(ios.In).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes", nil
}

// ImportOptions are the inputs of `auth import`.
type ImportOptions struct {
	IO     *iostreams.IO
	App    func() (*app.App, error)
	Logger *slog.Logger
	Now    func() time.Time
	// Sources say where the official CLIs keep their credentials.
	Sources providers.ImportOptions

	Context  context.Context
	Provider string
	// Yes adopts without asking; needed when there is no terminal to ask on.
	Yes     bool
	Account string
}

// NewCmdImport builds `auth import [<provider>] [--account NAME]`.
func NewCmdImport(f *Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: f.IO, App: f.appFunc(), Logger: f.logger(), Now: f.now, Sources: f.importSources()}
	cmd := &cobra.Command{
		Use:   "import [<provider>]",
		Short: "Adopt the credentials of Claude Code, the Codex CLI or Copilot",
		Long: `Copy the credentials the official CLI of a provider keeps on this machine into
ccproxy-tui's store. Without <provider>, every official CLI found is imported.
Each import first prints what adopting the credentials costs (for rotating
refresh tokens, the official CLI will have to log in again after our first
refresh). The imported credentials become an account of the provider (named
by --account, else after their identity), and that account becomes active.`,
		Args:              args(cobra.MaximumNArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			if len(a) == 1 {
				opts.Provider = a[0]
			}
			opts.Context = c.Context()
			if opts.Account != "" && opts.Provider == "" {
				return flagErrorf("--account needs a <provider>: each provider's import names its own account")
			}
			if err := checkAccountFlag(opts.Account); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return importRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "adopt without asking (required without a terminal)")
	cmd.Flags().StringVar(&opts.Account, "account", "", "the account to import as (default: named after the imported identity)")
	return cmd
}

func importRun(opts *ImportOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	io := opts.Sources
	var plans []*providers.ImportPlan
	var planErr error
	if opts.Provider != "" {
		p, err := providers.Import(opts.Provider, io)
		if err != nil {
			return err
		}
		plans = []*providers.ImportPlan{p}
	} else {
		plans, planErr = providers.ImportAll(io)
		if len(plans) == 0 && planErr == nil {
			return errors.New("no credentials of Claude Code, the Codex CLI or Copilot were found; log in with: ccproxy-tui auth login <provider>")
		}
	}
	if len(plans) > 0 && !opts.Yes && !opts.IO.CanPrompt() {
		return flagErrorf("auth import copies credentials another program uses and asks first; with no terminal to ask on, run it with --yes")
	}
	for _, p := range plans {
		if p.Warning != "" {
			fmt.Fprintf(opts.IO.ErrOut, "! %s\n", termsafe.Line(p.Warning))
		}
		if !opts.Yes {
			ok, err := confirm(opts.IO, fmt.Sprintf("Adopt the %s credentials from %s?", p.Provider, termsafe.Line(p.Source)))
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(opts.IO.ErrOut, "skipped %s\n", p.Provider)
				continue
			}
		}
		name, err := a.Adopt(contextOr(opts.Context), opts.Account, p.Credentials)
		if err != nil {
			return fmt.Errorf("import %s: %w", p.Provider, err)
		}
		opts.Logger.Info("imported", "provider", p.Provider, "source", p.Source, "account", name)
		fmt.Fprintf(opts.IO.ErrOut, "✓ Imported %s from %s as %s%s\n", p.Provider, termsafe.Line(p.Source), account(p.Credentials), expiresIn(p.Credentials, opts.Now()))
		fmt.Fprintf(opts.IO.ErrOut, "✓ %s account %s is now active\n", p.Provider, termsafe.Line(name))
	}
	return planErr
}
