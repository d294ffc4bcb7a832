package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/accounts"
	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/remote"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
)

// LoginOptions are the inputs of `auth login`.
type LoginOptions struct {
	IO     *iostreams.IO
	App    func() (*app.App, error)
	Logger *slog.Logger
	Now    func() time.Time
	// Getenv reads SSH_CONNECTION and the like, for the ssh -L hint.
	Getenv func(string) string
	// OpenBrowser opens a URL, reporting false when there is no browser;
	// nil never opens one.
	OpenBrowser func(url string) (bool, error)

	Context   context.Context
	Provider  string
	Account   string
	Device    bool
	Paste     bool
	NoBrowser bool
}

// NewCmdLogin builds `auth login <provider> [--account NAME] [--device | --paste | --no-browser]`.
func NewCmdLogin(f *Factory, runF func(*LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{IO: f.IO, App: f.appFunc(), Logger: f.logger(), Now: f.now, Getenv: f.getenv, OpenBrowser: f.OpenBrowser}
	cmd := &cobra.Command{
		Use:   "login <provider>",
		Short: "Log in to a provider",
		Long: `Log in to a provider. By default the authorize URL opens in your browser and
the provider redirects back to a loopback callback; the URL is always printed,
so --no-browser (or a machine without a display) still works by opening it
yourself. --paste finishes with the code the provider's page shows (or the
whole address the browser could not load), read from stdin. --device shows a
code to enter on any other device.

Over SSH, a browser login prints the ssh -L command that lets the browser on
your own machine reach the callback.

A provider may hold several accounts. The login adds the account --account
names, or replaces it when it exists; without --account it is named after
the identity the provider reports (its e-mail address, else its account id,
else "default"). The account just logged in becomes the active one.`,
		Example: `  ccproxy-tui auth login claude
  ccproxy-tui auth login claude --account work
  ccproxy-tui auth login codex --device
  ccproxy-tui auth login claude --paste`,
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeProviders(f),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Provider = a[0]
			opts.Context = c.Context()
			if opts.Device && opts.Paste {
				return flagErrorf("--device and --paste cannot be used together")
			}
			if err := checkAccountFlag(opts.Account); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return loginRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Device, "device", false, "log in with a code entered on another device")
	cmd.Flags().BoolVar(&opts.Paste, "paste", false, "finish by pasting the code the provider shows")
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "print the URL instead of opening a browser")
	cmd.Flags().StringVar(&opts.Account, "account", "", "the account to add or replace (default: named after the login's identity)")
	return cmd
}

func loginRun(opts *LoginOptions) error {
	ctx, stop := signal.NotifyContext(contextOr(opts.Context), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := opts.App()
	if err != nil {
		return err
	}
	p, err := a.Provider(opts.Provider)
	if err != nil {
		return err
	}
	// Fail before the browser dance, not at the save after it.
	if err := a.CheckStore(ctx); err != nil {
		return err
	}
	flow := chooseFlow(p, opts)
	log := opts.Logger.With("provider", p.Name, "flow", string(flow))
	log.Info("login started")
	var c auth.Credentials
	switch flow {
	case auth.FlowDevice:
		c, err = deviceLogin(ctx, a, p, opts)
	case auth.FlowPaste:
		c, err = pasteLogin(ctx, a, p, opts)
	default:
		c, err = browserLogin(ctx, a, p, opts)
	}
	if err != nil {
		log.Warn("login failed", "err", err.Error())
		if ctx.Err() != nil && errors.Is(err, auth.ErrCancelled) || errors.Is(err, context.Canceled) {
			return fmt.Errorf("login %s cancelled; nothing was saved", p.Name)
		}
		return err
	}
	name := app.AccountFor(selector(p.Name, opts.Account), c)
	log.Info("login succeeded", "account", name, "expires_at", c.ExpiresAt)
	fmt.Fprintf(opts.IO.ErrOut, "✓ Logged in to %s as %s%s\n", p.Name, account(c), expiresIn(c, opts.Now()))
	fmt.Fprintf(opts.IO.ErrOut, "✓ %s account %s is now active\n", p.Name, termsafe.Line(name))
	return nil
}

// chooseFlow picks the flow the flags ask for; without flags the browser,
// or the provider's only flow when it has no browser login (Copilot).
func chooseFlow(p *providers.Provider, opts *LoginOptions) auth.Flow {
	switch {
	case opts.Device:
		return auth.FlowDevice
	case opts.Paste:
		return auth.FlowPaste
	case p.Supports(auth.FlowBrowser) || len(p.Flows) == 0:
		return auth.FlowBrowser
	}
	return p.Flows[0]
}

func browserLogin(ctx context.Context, a *app.App, p *providers.Provider, opts *LoginOptions) (auth.Credentials, error) {
	w := opts.IO.ErrOut
	l, err := a.StartBrowserLogin(ctx, selector(p.Name, opts.Account))
	if errors.Is(err, auth.ErrPortInUse) && p.Supports(auth.FlowPaste) && p.OAuth.PasteRedirectURL != "" {
		// The provider's own page shows the code, so nothing is redirected
		// to the port another program holds.
		fmt.Fprintf(w, "! %s\n  Switching to a pasted-code login through %s's own code page; nothing is sent to that port.\n",
			termsafe.Line(err.Error()), p.Name)
		return pasteLogin(ctx, a, p, opts)
	}
	if err != nil {
		return auth.Credentials{}, err
	}
	defer l.Close()
	fmt.Fprintf(w, "Open this URL to log in to %s:\n\n  %s\n\n", p.Name, termsafe.Line(l.URL()))
	if hint := sshHint(opts.Getenv, l.Port(), p.Flows); hint != "" {
		fmt.Fprintln(w, hint)
	}
	openURL(opts, l.URL())
	fmt.Fprintln(w, "Waiting for the browser… (Ctrl-C to cancel)")
	creds, err := l.Wait(ctx)
	var ae *auth.Error
	if err != nil && ctx.Err() == nil && errors.Is(err, auth.ErrCancelled) && errors.As(err, &ae) {
		// The browser never came back: offer what this provider has
		// that needs no callback, and nothing it lacks.
		if alt := callbackFreeFlags(p.Flows); alt != "" {
			ae.Hint = "run the login again, or use " + alt
		}
	}
	return creds, err
}

// callbackFreeFlags names the login flags of the flows the provider offers
// that need no loopback callback ("--paste or --device"), or "".
func callbackFreeFlags(flows []auth.Flow) string {
	var other []string
	for _, f := range flows {
		switch f {
		case auth.FlowPaste:
			other = append(other, "--paste")
		case auth.FlowDevice:
			other = append(other, "--device")
		}
	}
	return strings.Join(other, " or ")
}

// sshHint explains, when running over SSH, how to let the local browser reach
// the loopback callback on this machine: forward the callback port. The host
// is the server address from SSH_CONNECTION and the user $USER, both
// best guesses the user may need to adjust (an ssh config alias, a jump host).
// It offers only the callback-free flows the provider has.
func sshHint(getenv func(string) string, port int, flows []auth.Flow) string {
	s, ok := remote.Detect(getenv)
	if !ok || port <= 0 {
		return ""
	}
	hint := fmt.Sprintf("You are logged in over SSH. The browser must reach port %d on this machine;\n"+
		"on your own computer, run this first and keep it open:\n\n  %s\n", port, s.Forward(port))
	if alt := callbackFreeFlags(flows); alt != "" {
		hint += "\nOr log in without a callback: " + alt + ".\n"
	}
	return hint
}

func pasteLogin(ctx context.Context, a *app.App, p *providers.Provider, opts *LoginOptions) (auth.Credentials, error) {
	w := opts.IO.ErrOut
	l, err := a.StartPasteLogin(ctx, selector(p.Name, opts.Account))
	if err != nil {
		return auth.Credentials{}, err
	}
	fmt.Fprintf(w, "Open this URL to log in to %s:\n\n  %s\n\n", p.Name, termsafe.Line(l.URL()))
	openURL(opts, l.URL())
	in := bufio.NewReader(opts.IO.In)
	for attempt := 1; ; attempt++ {
		fmt.Fprint(w, "Paste the code shown after you approve (or the whole address the browser went to): ")
		line, err := readLine(ctx, in)
		if opts.IO.IsStdinTTY() {
			fmt.Fprintln(w)
		}
		if err != nil {
			return auth.Credentials{}, err
		}
		c, err := l.Complete(ctx, line)
		if err == nil {
			return c, nil
		}
		// A typo can be retried when someone is there to retype it.
		if !opts.IO.CanPrompt() || attempt == 3 {
			return auth.Credentials{}, err
		}
		fmt.Fprintf(w, "! %s\n", termsafe.Line(err.Error()))
	}
}

// readLine reads one line, giving up when ctx ends (Ctrl-C at the prompt).
func readLine(ctx context.Context, r *bufio.Reader) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := r.ReadString('\n')
		ch <- result{s, err}
	}()
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("stopped while waiting for the code: %w", ctx.Err())
	case res := <-ch:
		s := strings.TrimSpace(res.s)
		if s == "" && res.err != nil {
			if res.err == io.EOF {
				return "", errors.New("no code was pasted (stdin ended)")
			}
			return "", fmt.Errorf("read the pasted code: %w", res.err)
		}
		return s, nil
	}
}

func deviceLogin(ctx context.Context, a *app.App, p *providers.Provider, opts *LoginOptions) (auth.Credentials, error) {
	w := opts.IO.ErrOut
	return a.DeviceLogin(ctx, selector(p.Name, opts.Account), func(dc auth.DeviceCode) {
		// Both come from the provider's server.
		fmt.Fprintf(w, "First copy your one-time code: %s\n", termsafe.Line(dc.UserCode))
		fmt.Fprintf(w, "Then open %s and enter it", termsafe.Line(dc.VerificationURI))
		if !dc.ExpiresAt.IsZero() {
			fmt.Fprintf(w, " within %s", human(dc.ExpiresAt.Sub(opts.Now())))
		}
		fmt.Fprintln(w, ".")
		target := dc.VerificationURIComplete
		if target == "" {
			target = dc.VerificationURI
		}
		openURL(opts, target)
		fmt.Fprintln(w, "Waiting for approval… (Ctrl-C to cancel)")
	})
}

// openURL opens url in a browser unless told not to, saying what happened.
func openURL(opts *LoginOptions, url string) {
	if opts.NoBrowser || opts.OpenBrowser == nil {
		return
	}
	opened, err := opts.OpenBrowser(url)
	switch {
	case err != nil:
		fmt.Fprintf(opts.IO.ErrOut, "! Could not open a browser (%s); open the URL above yourself.\n", termsafe.Line(err.Error()))
	case opened:
		fmt.Fprintln(opts.IO.ErrOut, "Opened your browser.")
	default:
		fmt.Fprintln(opts.IO.ErrOut, "No browser here; open the URL above on any machine that can reach this one.")
	}
}

// selector names one account of a provider for the app: "<provider>"
// (the active one, or for a login the one its identity names) or
// "<provider>@<account>".
func selector(provider, account string) string {
	if account == "" {
		return provider
	}
	return provider + "@" + account
}

// checkAccountFlag applies the account-name rule to --account, as a usage error.
func checkAccountFlag(name string) error {
	if name == "" {
		return nil
	}
	if err := accounts.Check(name); err != nil {
		return flagErrorf("--account: %v", err)
	}
	return nil
}

// account names the account for a message; the name came from a token or
// a file, so it is escaped.
func account(c auth.Credentials) string {
	switch {
	case c.Email != "":
		return termsafe.Line(c.Email)
	case c.AccountID != "":
		return termsafe.Line(c.AccountID)
	}
	return "an unnamed account"
}

func expiresIn(c auth.Credentials, now time.Time) string {
	if c.ExpiresAt.IsZero() {
		return ""
	}
	return " (expires in " + human(c.ExpiresAt.Sub(now)) + ")"
}

// human formats a duration to the minute ("7h59m"), or seconds below one.
func human(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	s := d.Truncate(time.Minute).String()
	return strings.TrimSuffix(s, "0s")
}

func contextOr(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
