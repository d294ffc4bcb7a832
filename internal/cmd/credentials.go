package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
)

// TokenOptions are the inputs of `auth token`.
type TokenOptions struct {
	Factory  *Factory
	Context  context.Context
	Provider string
}

// NewCmdToken builds `auth token <provider>`.
func NewCmdToken(f *Factory, runF func(*TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{Factory: f}
	return &cobra.Command{
		Use:               "token <provider>",
		Short:             "Print a valid access token (refreshing it if needed), for scripts",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Provider, opts.Context = a[0], c.Context()
			if runF != nil {
				return runF(opts)
			}
			return tokenRun(opts)
		},
	}
}

func tokenRun(opts *TokenOptions) error {
	a, err := opts.Factory.App(nil)
	if err != nil {
		return err
	}
	tok, err := a.Token(contextOr(opts.Context), opts.Provider)
	if err != nil {
		return err
	}
	opts.Factory.logger().Info("token handed out", "provider", opts.Provider)
	_, err = fmt.Fprintln(opts.Factory.IO.Out, tok)
	return err
}

// RefreshOptions are the inputs of `auth refresh`.
type RefreshOptions struct {
	Factory  *Factory
	Context  context.Context
	Provider string
}

// NewCmdRefresh builds `auth refresh <provider>`.
func NewCmdRefresh(f *Factory, runF func(*RefreshOptions) error) *cobra.Command {
	opts := &RefreshOptions{Factory: f}
	return &cobra.Command{
		Use:               "refresh <provider>",
		Short:             "Refresh a provider's access token now",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Provider, opts.Context = a[0], c.Context()
			if runF != nil {
				return runF(opts)
			}
			return refreshRun(opts)
		},
	}
}

func refreshRun(opts *RefreshOptions) error {
	f := opts.Factory
	a, err := f.App(nil)
	if err != nil {
		return err
	}
	c, err := a.Refresh(contextOr(opts.Context), opts.Provider)
	if err != nil {
		f.logger().Warn("refresh failed", "provider", opts.Provider, "err", err.Error())
		return err
	}
	f.logger().Info("refreshed", "provider", opts.Provider, "expires_at", c.ExpiresAt)
	fmt.Fprintf(f.IO.ErrOut, "✓ Refreshed %s%s\n", opts.Provider, expiresIn(c, f.now()))
	return nil
}

// LogoutOptions are the inputs of `auth logout`.
type LogoutOptions struct {
	Factory  *Factory
	Context  context.Context
	Provider string
	Yes      bool
}

// NewCmdLogout builds `auth logout <provider> [--yes]`.
func NewCmdLogout(f *Factory, runF func(*LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{Factory: f}
	cmd := &cobra.Command{
		Use:               "logout <provider>",
		Short:             "Delete a provider's stored credentials from this machine",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Provider, opts.Context = a[0], c.Context()
			if runF != nil {
				return runF(opts)
			}
			return logoutRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func logoutRun(opts *LogoutOptions) error {
	f := opts.Factory
	a, err := f.App(nil)
	if err != nil {
		return err
	}
	if _, err := a.Provider(opts.Provider); err != nil {
		return err
	}
	// As gh does, logging out of nothing is a failure that says so.
	if st, err := a.Status(contextOr(opts.Context), opts.Provider); err == nil && !st.Authenticated && st.AccessTokenPreview == "" && st.RefreshTokenPreview == "" {
		fmt.Fprintf(f.IO.ErrOut, "not logged in to %s; nothing to log out of\n", opts.Provider)
		return ErrSilent
	}
	if !opts.Yes && f.IO.CanPrompt() {
		ok, err := confirm(f, fmt.Sprintf("Delete the stored credentials of %s?", opts.Provider))
		if err != nil {
			return err
		}
		if !ok {
			return ErrCancelled
		}
	}
	rev, err := a.Logout(contextOr(opts.Context), opts.Provider)
	if err != nil {
		return err
	}
	f.logger().Info("logged out", "provider", opts.Provider, "revocation", rev.String())
	switch {
	case rev.Revoked:
		fmt.Fprintf(f.IO.ErrOut, "✓ Logged out of %s: %s, and the local credentials were deleted\n", opts.Provider, termsafe.Line(rev.String()))
	case rev.Err != nil:
		fmt.Fprintf(f.IO.ErrOut, "! %s: %s\n", opts.Provider, termsafe.Line(rev.String()))
		fmt.Fprintf(f.IO.ErrOut, "✓ Logged out of %s: the local credentials were deleted anyway\n", opts.Provider)
	default:
		fmt.Fprintf(f.IO.ErrOut, "✓ Logged out of %s: the local credentials were deleted; %s\n", opts.Provider, termsafe.Line(rev.String()))
	}
	return nil
}

// confirm asks a yes/no question on the terminal; the default is no.
func confirm(f *Factory, question string) (bool, error) {
	fmt.Fprintf(f.IO.ErrOut, "? %s [y/N] ", question)
	line, err := bufio.NewReader(f.IO.In).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes", nil
}

// ImportOptions are the inputs of `auth import`.
type ImportOptions struct {
	Factory  *Factory
	Context  context.Context
	Provider string
	// Yes adopts without asking; needed when there is no terminal to ask on.
	Yes bool
}

// NewCmdImport builds `auth import [<provider>]`.
func NewCmdImport(f *Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "import [<provider>]",
		Short: "Adopt the credentials of Claude Code, the Codex CLI or Copilot",
		Long: `Copy the credentials the official CLI of a provider keeps on this machine into
ccproxy-tui's store. Without <provider>, every official CLI found is imported.
Each import first prints what adopting the credentials costs (for rotating
refresh tokens, the official CLI will have to log in again after our first
refresh).`,
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
			return importRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "adopt without asking (required without a terminal)")
	return cmd
}

func importRun(opts *ImportOptions) error {
	f := opts.Factory
	a, err := f.App(nil)
	if err != nil {
		return err
	}
	io := f.ImportOptions
	if io.Clock == nil {
		io.Clock = f.Clock
	}
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
	if len(plans) > 0 && !opts.Yes && !f.IO.CanPrompt() {
		return flagErrorf("auth import copies credentials another program uses and asks first; with no terminal to ask on, run it with --yes")
	}
	for _, p := range plans {
		if p.Warning != "" {
			fmt.Fprintf(f.IO.ErrOut, "! %s\n", termsafe.Line(p.Warning))
		}
		if !opts.Yes {
			ok, err := confirm(f, fmt.Sprintf("Adopt the %s credentials from %s?", p.Provider, termsafe.Line(p.Source)))
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(f.IO.ErrOut, "skipped %s\n", p.Provider)
				continue
			}
		}
		if err := a.Adopt(contextOr(opts.Context), p.Credentials); err != nil {
			return fmt.Errorf("import %s: %w", p.Provider, err)
		}
		f.logger().Info("imported", "provider", p.Provider, "source", p.Source)
		fmt.Fprintf(f.IO.ErrOut, "✓ Imported %s from %s as %s%s\n", p.Provider, termsafe.Line(p.Source), account(p.Credentials), expiresIn(p.Credentials, f.now()))
	}
	return planErr
}
