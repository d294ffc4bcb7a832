package cmd

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
)

// PlaceholderAPIKey is exported to clients when the proxy has no api_key:
// SDKs insist on some key, and the proxy replaces client credentials anyway.
const PlaceholderAPIKey = "ccproxy-tui"

// EnvOptions are the inputs of `env`.
type EnvOptions struct {
	IO *iostreams.IO
	// App wires the program with its credentials, to check --account;
	// AppWithoutCredentials without, for everything else.
	App                   func() (*app.App, error)
	AppWithoutCredentials func() (*app.App, error)

	Provider string
	Account  string
	Shell    string
}

// NewCmdEnv builds `env [<provider>] [--account NAME] [--shell bash|zsh|fish|powershell]`.
func NewCmdEnv(f *Factory, runF func(*EnvOptions) error) *cobra.Command {
	opts := &EnvOptions{IO: f.IO, App: f.appFunc(), AppWithoutCredentials: f.AppWithoutCredentials}
	cmd := &cobra.Command{
		Use:   "env [<provider>]",
		Short: "Print the shell exports that point clients at the proxy",
		Long: `Print what Claude Code, the Anthropic and OpenAI SDKs and the Codex CLI need to
use the proxy. Evaluate it in your shell:

  eval "$(ccproxy-tui env)"              # bash, zsh
  ccproxy-tui env --shell fish | source  # fish

ANTHROPIC_AUTH_TOKEN / OPENAI_API_KEY are the proxy's api_key, or the
placeholder "ccproxy-tui" when none is set (the proxy supplies the real token).
For codex, the config.toml block the Codex CLI needs is printed as comments.

The base URLs use each provider's active account (/<provider>/), which
auth switch changes; --account pins one account (/<provider>@<account>/).`,
		Args:              args(cobra.MaximumNArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			if len(a) == 1 {
				opts.Provider = a[0]
			}
			if opts.Account != "" && opts.Provider == "" {
				return flagErrorf("--account needs a <provider>")
			}
			if err := checkAccountFlag(opts.Account); err != nil {
				return err
			}
			switch opts.Shell {
			case "bash", "zsh", "fish", "powershell":
			default:
				return flagErrorf("--shell must be bash, zsh, fish or powershell, not %q", opts.Shell)
			}
			if runF != nil {
				return runF(opts)
			}
			return envRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Shell, "shell", "bash", "syntax: bash, zsh, fish or powershell")
	cmd.Flags().StringVar(&opts.Account, "account", "", "point at this account instead of the active one")
	_ = cmd.RegisterFlagCompletionFunc("shell", cobra.FixedCompletions([]string{"bash", "zsh", "fish", "powershell"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func envRun(opts *EnvOptions) error {
	a, err := opts.AppWithoutCredentials()
	if opts.Account != "" {
		// Every URL printed is one the proxy serves: the account must
		// exist, which only the credentials store can say.
		if a, err = opts.App(); err == nil {
			_, err = a.Status(context.Background(), selector(opts.Provider, opts.Account))
		}
	}
	if err != nil {
		return err
	}
	return WriteEnv(opts.IO.Out, a, EnvRequest{
		ProxyURL: ProxyURL(a.Config().Proxy.Listen),
		Provider: opts.Provider,
		Account:  opts.Account,
		Shell:    opts.Shell,
	})
}

// EnvRequest says which exports WriteEnv prints.
type EnvRequest struct {
	// ProxyURL is the proxy's base URL ("http://127.0.0.1:8787").
	ProxyURL string
	// Provider limits the output to one provider; empty prints the first
	// provider of each API shape (one value per variable).
	Provider string
	// Account, with Provider, points at that account's route
	// (/<provider>@<account>) instead of the active account's.
	Account string
	// Shell is bash, zsh, fish or powershell (bash when empty).
	Shell string
}

// WriteEnv prints the exports that point clients at the proxy; the dashboard
// uses it for its copy-env key too.
func WriteEnv(w io.Writer, a *app.App, req EnvRequest) error {
	key := a.Config().Proxy.APIKey
	if key == "" {
		key = PlaceholderAPIKey
	}
	var list []*providers.Provider
	if req.Provider != "" {
		p, err := a.Provider(req.Provider)
		if err != nil {
			return err
		}
		list = []*providers.Provider{p}
	} else {
		seen := map[string]string{}
		var left []string
		for _, p := range a.Providers() {
			first, dup := seen[p.Env().BaseURL]
			if !dup {
				seen[p.Env().BaseURL] = p.Name
				list = append(list, p)
				continue
			}
			left = append(left, fmt.Sprintf("%s (speaks the same API as %s; one variable holds one address)", p.Name, first))
		}
		defer func() {
			for _, l := range left {
				comment(w, "left out "+l+"; for it, run: ccproxy-tui env "+strings.Fields(l)[0])
			}
		}()
	}
	for _, p := range list {
		url := strings.TrimRight(req.ProxyURL, "/") + "/" + p.Name
		if req.Account != "" {
			url += "@" + req.Account
		}
		env := p.Env()
		comment(w, fmt.Sprintf("%s: %s", p.Name, env.Clients))
		export(w, req.Shell, env.BaseURL, url)
		export(w, req.Shell, env.APIKey, key)
		// Notes are comments, so the output stays eval-able.
		for _, l := range env.Notes(url) {
			if l == "" {
				fmt.Fprintln(w, "#")
				continue
			}
			fmt.Fprintf(w, "#   %s\n", l)
		}
	}
	return nil
}

// ProxyURL is the base URL clients reach the proxy at for a listen address:
// a wildcard host becomes 127.0.0.1.
func ProxyURL(listen string) string {
	if listen == "" {
		listen = config.DefaultListen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func export(w io.Writer, shell, k, v string) {
	switch shell {
	case "fish":
		fmt.Fprintf(w, "set -gx %s %s\n", k, quote(v))
	case "powershell":
		fmt.Fprintf(w, "$env:%s = %s\n", k, quote(v))
	default:
		fmt.Fprintf(w, "export %s=%s\n", k, quote(v))
	}
}

func comment(w io.Writer, s string) { fmt.Fprintf(w, "# %s\n", s) }

// quote single-quotes v for every supported shell.
func quote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'"'"'`) + "'"
}
