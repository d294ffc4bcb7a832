package cmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
)

// ProvidersOptions are the inputs of `providers`.
type ProvidersOptions struct {
	IO *iostreams.IO
	// App wires the program from the config alone: no credentials are read.
	App  func() (*app.App, error)
	JSON bool
}

// ProviderInfo is one element of `providers --json`.
type ProviderInfo struct {
	Name         string   `json:"name"`
	DisplayName  string   `json:"display_name"`
	Flows        []string `json:"flows"`
	Route        string   `json:"route"`
	APIBase      string   `json:"api_base"`
	AuthorizeURL string   `json:"authorize_url"`
	TokenURL     string   `json:"token_url"`
	DeviceURL    string   `json:"device_url"`
	APIFormat    string   `json:"api_format"`
	ErrorFormat  string   `json:"error_format"`
}

// NewCmdProviders builds `providers [--json]`.
func NewCmdProviders(f *Factory, runF func(*ProvidersOptions) error) *cobra.Command {
	opts := &ProvidersOptions{IO: f.IO, App: f.AppWithoutCredentials}
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "List the known providers, their login flows and endpoints",
		Args:  args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return providersRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array")
	return cmd
}

func providersRun(opts *ProvidersOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	base := ProxyURL(a.Config().Proxy.Listen)
	var infos []ProviderInfo
	for _, p := range a.Providers() {
		infos = append(infos, ProviderInfo{
			Name: p.Name, DisplayName: p.DisplayName, Flows: flowNames(p.Flows),
			Route: base + "/" + p.Name, APIBase: p.APIBase,
			AuthorizeURL: p.OAuth.AuthURL, TokenURL: p.OAuth.TokenURL, DeviceURL: p.OAuth.DeviceURL,
			APIFormat: p.APIFormat(), ErrorFormat: p.ErrorFormat(),
		})
	}
	out := opts.IO.Out
	if opts.JSON {
		if infos == nil {
			infos = []ProviderInfo{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tNAME\tFLOWS\tROUTE\tAPI")
	for _, i := range infos {
		// Display names and URLs come from the config file.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Name, termsafe.Line(i.DisplayName), strings.Join(i.Flows, ", "),
			termsafe.Line(i.Route), orDash(termsafe.Line(i.APIBase)))
	}
	return tw.Flush()
}

func flowNames(fs []auth.Flow) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
