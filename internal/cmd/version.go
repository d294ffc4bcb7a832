package cmd

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
)

// VersionOptions are the inputs of `version`.
type VersionOptions struct {
	IO *iostreams.IO
	// Version is the version main.go was built with; "" reads the build
	// info's.
	Version string
	// BuildInfo reads the binary's build info (debug.ReadBuildInfo).
	BuildInfo func() (*debug.BuildInfo, bool)
}

// NewCmdVersion builds `version`.
func NewCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IO, Version: f.Version, BuildInfo: debug.ReadBuildInfo}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *VersionOptions) error {
	version, commit, date, goVersion := opts.Version, "", "", ""
	if bi, ok := opts.BuildInfo(); ok {
		goVersion = bi.GoVersion
		if version == "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				date = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					defer fmt.Fprintln(opts.IO.Out, "  (built from a modified tree)")
				}
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	fmt.Fprintf(opts.IO.Out, "ccproxy-tui %s\n", version)
	if commit != "" {
		if len(commit) > 12 {
			commit = commit[:12]
		}
		fmt.Fprintf(opts.IO.Out, "  commit %s %s\n", commit, date)
	}
	if goVersion != "" {
		fmt.Fprintf(opts.IO.Out, "  %s\n", goVersion)
	}
	return nil
}

// versionLine is what --version prints: the version, and the commit when
// the binary knows it.
func versionLine(f *Factory) string {
	version, commit := f.Version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				commit = s.Value[:12]
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	line := "ccproxy-tui " + version
	if commit != "" {
		line += " (" + commit + ")"
	}
	return line
}
