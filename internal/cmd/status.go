package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
)

// StatusOptions are the inputs of `auth status`.
type StatusOptions struct {
	IO  *iostreams.IO
	App func() (*app.App, error)

	Context  context.Context
	Provider string
	JSON     bool
}

// NewCmdStatus builds `auth status [<provider>] [--json]`.
func NewCmdStatus(f *Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, App: f.appFunc()}
	cmd := &cobra.Command{
		Use:   "status [<provider>]",
		Short: "Show which providers are logged in and when their tokens expire",
		Long: `Show each account of each provider: its state, identity, time left and masked
token, the active account of a provider marked with *; --json prints the
array scripts rely on (each element names its account and whether it is
active). Reading the status never refreshes anything.

Exit status: with <provider>, 1 when its active account is not authenticated;
without, 1 when any stored credential is expired beyond refresh (it needs a
new login).`,
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
			return statusRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the status as a JSON array")
	return cmd
}

func statusRun(opts *StatusOptions) error {
	ctx := contextOr(opts.Context)
	a, err := opts.App()
	if err != nil {
		return err
	}
	if err := a.CheckStore(ctx); err != nil {
		return err
	}
	var list []auth.Status
	if opts.Provider != "" {
		if list, err = a.ProviderStatuses(ctx, opts.Provider); err != nil {
			return err
		}
	} else {
		list = a.Statuses(ctx)
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return err
		}
	} else {
		printStatus(opts.IO, list)
	}
	for _, n := range a.PermissionNotices() {
		fmt.Fprintf(opts.IO.ErrOut, "! %s\n", termsafe.Line(n))
	}
	// As gh does, a status with nobody logged in is a failure (exit 1).
	failed := len(list) > 0
	for _, st := range list {
		if st.Authenticated {
			failed = false
		}
	}
	for _, st := range list {
		// A provider's verdict is its active account's (or, without
		// accounts, its one record's).
		if opts.Provider != "" && !st.Authenticated && (st.Active || len(list) == 1) {
			failed = true
		}
		if opts.Provider == "" && deadCredential(st) {
			failed = true
		}
	}
	if failed {
		return ErrSilent
	}
	return nil
}

// deadCredential is a stored credential no refresh can revive.
func deadCredential(st auth.Status) bool {
	return st.AccessTokenPreview != "" && !st.Authenticated
}

func printStatus(ios *iostreams.IO, list []auth.Status) {
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tACCOUNT\tSTATE\tIDENTITY\tEXPIRES IN\tTOKEN")
	for _, st := range list {
		acct := st.Email
		if acct == "" {
			acct = st.AccountID
		}
		name := orDash(termsafe.Line(st.Account))
		if st.Active {
			name = "* " + name
		}
		exp := "-"
		if st.ExpiresAt != nil {
			exp = human(time.Duration(st.ExpiresIn) * time.Second)
		} else if st.AccessTokenPreview != "" {
			exp = "never"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", termsafe.Line(st.Provider), name, stateLabel(st.State),
			orDash(termsafe.Line(acct)), exp, orDash(termsafe.Line(st.AccessTokenPreview)))
	}
	tw.Flush()
	for _, st := range list {
		if st.Reason != "" && (!st.Authenticated || st.State != auth.StateOK) {
			who := termsafe.Line(st.Provider)
			if st.Account != "" {
				who += "@" + termsafe.Line(st.Account)
			}
			fmt.Fprintf(ios.ErrOut, "%s: %s\n", who, termsafe.Line(st.Reason))
		}
	}
}

func stateLabel(s auth.State) string {
	switch s {
	case auth.StateOK:
		return "logged in"
	case auth.StateNeedsLogin:
		return "needs login"
	case "":
		return "-"
	}
	return string(s)
}
