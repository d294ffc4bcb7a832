// Command ccproxy-tui logs in to LLM subscriptions with OAuth, keeps their
// tokens fresh and serves them to local tools through an embedded proxy.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/cmd"
	"github.com/ccproxy-tui/ccproxy-tui/internal/dashboard"
	"github.com/ccproxy-tui/ccproxy-tui/internal/demo"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/logging"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
)

func main() { os.Exit(run()) }

func run() int {
	ios := iostreams.System()
	logger := slog.New(slog.DiscardHandler)
	// The log file is best effort: a read-only state dir must not stop
	// the command line from working. The demo touches no file of the
	// user's, the log included.
	level, err := logging.ParseLevel(os.Getenv(logging.LevelEnv))
	if err != nil {
		fmt.Fprintf(ios.ErrOut, "ccproxy-tui: %s: %v; logging at info\n", logging.LevelEnv, err)
	}
	if !demoRequested(os.Args[1:]) {
		if f, _, err := logging.OpenFile(); err == nil {
			defer f.Close()
			logger = logging.New(f, logging.Options{Level: level})
		}
	}
	logger.Info("start", "args", strings.Join(os.Args[1:], " "), "pid", os.Getpid())

	f := &cmd.Factory{
		IO:          ios,
		Getenv:      os.Getenv,
		Clock:       clockwork.NewRealClock(),
		OpenBrowser: auth.OpenBrowser,
		Logger:      logger,
		// The dashboard hook: internal/dashboard adapts the app to the tui
		// package; --demo swaps in internal/demo's loopback fakes.
		RunDashboard: dashboard.Run,
		DemoApp:      demo.App,
		LedgerPath:   ledger.DefaultPath(),
	}
	code := cmd.Execute(cmd.NewCmdRoot(f, nil), os.Args[1:], ios.ErrOut, logger)
	logger.Info("exit", "status", code)
	return code
}

// demoRequested reports whether the command line asks for --demo. It is read
// before cobra parses the flags because the log file is opened first.
func demoRequested(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--demo" || (strings.HasPrefix(a, "--demo=") && a != "--demo=false") {
			return true
		}
	}
	return false
}
