package cmd

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
)

// Exit codes of DESIGN.md.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// FlagError is a usage mistake: a bad flag or argument. It exits 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// ErrSilent exits 1 without a message: the command already said why (auth
// status reporting a provider that is not logged in).
var ErrSilent = errors.New("silent error")

// ErrCancelled exits 1 after the user declined or pressed Ctrl-C.
var ErrCancelled = errors.New("cancelled")

func flagErrorf(format string, a ...any) error {
	return &FlagError{Err: fmt.Errorf(format, a...)}
}

// args wraps a cobra argument check so its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return &FlagError{Err: err}
		}
		return nil
	}
}

// Execute runs root with argv and returns the process exit code, writing
// any error as one line on stderr and, when log is not nil, to the log.
func Execute(root *cobra.Command, argv []string, stderr io.Writer, log *slog.Logger) int {
	root.SetArgs(argv)
	c, err := root.ExecuteC()
	if err == nil {
		return ExitOK
	}
	if log != nil && !errors.Is(err, ErrSilent) {
		log.Warn("command failed", "err", oneLine(err.Error()))
	}
	var fe *FlagError
	var unknown *providers.UnknownProviderError
	switch {
	case errors.Is(err, ErrSilent):
		return ExitError
	case errors.Is(err, ErrCancelled):
		fmt.Fprintln(stderr, "cancelled")
		return ExitError
	case errors.As(err, &fe) || isCobraUsageError(err) || errors.As(err, &unknown):
		// Usage errors keep their lines: cobra's suggestions are a list.
		fmt.Fprintf(stderr, "%s\n", strings.TrimSpace(err.Error()))
		if c != nil {
			fmt.Fprintf(stderr, "run '%s --help' for usage\n", c.CommandPath())
		}
		return ExitUsage
	}
	fmt.Fprintf(stderr, "%s\n", oneLine(message(err)))
	return ExitError
}

// isCobraUsageError recognises the errors cobra itself returns for unknown
// commands (flag and argument errors are wrapped in FlagError already).
func isCobraUsageError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.Contains(msg, "flag needs an argument")
}

// oneLine is an error message as one terminal-safe line: messages quote
// servers, files and URLs, so what is left after joining the lines is
// escaped (termsafe.Line).
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return termsafe.Line(strings.ReplaceAll(s, "\n", "; "))
}

// message is the line a failed command prints. An auth error is told once:
// its operation and provider, the OAuth code, the root cause under every
// layer, and one next step for someone whose command has ended, so a
// transient failure says to check the network and run it again, never
// "will retry".
func message(err error) string {
	top, ok := err.(*auth.Error)
	if !ok {
		return err.Error()
	}
	code, hint := top.Code, top.Hint
	var cause error
	for e := error(top); e != nil; {
		ae, ok := e.(*auth.Error)
		if !ok {
			cause = e
			break
		}
		if code == "" {
			code = ae.Code
		}
		if hint == "" {
			hint = ae.Hint
		}
		e = ae.Err
	}
	msg := top.Op + " " + top.Provider
	if code != "" {
		msg += ": " + code
	}
	if cause != nil {
		msg += ": " + cause.Error()
	}
	if hint == "" {
		switch {
		case errors.Is(err, auth.ErrLoginRequired):
			hint = "run: ccproxy-tui auth login " + top.Provider
		case errors.Is(err, auth.ErrTransient):
			hint = "check the network, then run the command again"
		case errors.Is(err, auth.ErrMisconfigured):
			hint = "check [providers." + top.Provider + "] in the config"
		}
	}
	if hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}
