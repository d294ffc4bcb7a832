// Package cmd is the cobra command tree of ccproxy-tui. Every command has an
// Options struct holding its inputs and the dependencies it uses (its IO,
// an App constructor, a logger, a clock: only those), a NewCmdX constructor
// that copies them from the Factory main.go builds and parses flags into
// Options, and an xRun function that does the work from Options alone.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/quotawatch"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// Factory holds what commands depend on. main.go fills it with the real
// things; tests fill it with buffers, fakes and a fake clock.
type Factory struct {
	IO *iostreams.IO
	// Getenv reads the environment (os.Getenv outside tests).
	Getenv func(string) string
	Clock  clockwork.Clock
	// HTTPClient talks to OAuth endpoints; nil means the default client.
	HTTPClient *http.Client
	// OpenBrowser opens a URL, reporting false when there is no browser.
	OpenBrowser func(url string) (bool, error)
	// Logger writes the log file (tokens redacted); nil discards.
	Logger *slog.Logger
	// Store, when set, replaces the backend the config selects.
	Store store.Store
	// ProviderOptions are passed on to the provider registry.
	ProviderOptions []providers.Option
	// ImportOptions say where the official CLIs keep their credentials.
	ImportOptions providers.ImportOptions
	// Version is the program version shown by `version` (build info when
	// empty).
	Version string
	// RunDashboard shows the dashboard (the root command without a
	// subcommand). main.go sets it to the tui package's entry point; cmd
	// never imports tui.
	RunDashboard func(ctx context.Context, opts DashboardOptions) error
	// DemoApp builds an App backed by the loopback fakes for --demo; stop
	// releases them. Nil when the demo is not built in.
	DemoApp func(ctx context.Context) (a *app.App, stop func(), err error)

	// LedgerPath is the usage ledger (usage.db): where serve and the
	// dashboard record requests and share quota observations, and what
	// usage reads. "" records nothing and keeps quota in memory only
	// (tests). main.go sets ledger.DefaultPath().
	LedgerPath string

	// configFlag is the root's --config value.
	configFlag string
	// ledger is the usage ledger, once openLedger opened it.
	ledger *ledger.DB
}

// DashboardOptions is what the root command hands to RunDashboard.
type DashboardOptions struct {
	// App is the wired program (the demo's when Demo is set).
	App  *app.App
	Demo bool
	IO   *iostreams.IO
	// Logger is the log file, where the dashboard's failures go too.
	Logger *slog.Logger
}

// ConfigPath is the config file in effect: --config, CCPROXY_TUI_CONFIG, or
// the XDG default.
func (f *Factory) ConfigPath() string { return config.Path(f.configFlag, f.getenv) }

func (f *Factory) getenv(k string) string {
	if f.Getenv == nil {
		return ""
	}
	return f.Getenv(k)
}

// Config loads the config file and applies the environment over it; flags
// are applied by the command that owns them, last.
func (f *Factory) Config() (config.Config, error) {
	path := f.ConfigPath()
	// A file the user named must exist: silently using the defaults
	// instead would hide a typo. The default path may be missing.
	if explicit := f.configFlag != "" || f.getenv("CCPROXY_TUI_CONFIG") != ""; explicit {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return config.Config{}, flagErrorf("config file %s does not exist (named by %s)", path, configSource(f.configFlag))
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return cfg, err
	}
	if err := cfg.ApplyEnv(f.getenv); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// configSource names where an explicit config path came from.
func configSource(flag string) string {
	if flag != "" {
		return "--config"
	}
	return "CCPROXY_TUI_CONFIG"
}

// App loads the config, lets override apply command-line flags to it, and
// wires the program.
func (f *Factory) App(override func(*config.Config) error) (*app.App, error) {
	return f.app(override, f.Store, f.logger())
}

// AppWithoutCredentials wires the program for the commands that read only
// the config (providers, env): its credentials store is in memory, so they
// work in a read-only config folder.
func (f *Factory) AppWithoutCredentials() (*app.App, error) {
	st := f.Store
	if st == nil {
		st = store.NewMemory()
	}
	return f.app(nil, st, f.logger())
}

// app wires the program with log as its log.
func (f *Factory) app(override func(*config.Config) error, st store.Store, log *slog.Logger) (*app.App, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	if override != nil {
		if err := override(&cfg); err != nil {
			return nil, err
		}
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(f.IO.ErrOut, "! %s\n", termsafe.Line(w))
		log.Warn("config", "warning", w)
	}
	return app.New(app.Options{
		Config:          cfg,
		Store:           st,
		Clock:           f.Clock,
		HTTPClient:      f.HTTPClient,
		Logger:          log,
		ProviderOptions: f.ProviderOptions,
		QuotaStore:      f.quotaStore(),
		QuotaPollDir:    f.quotaPollDir(),
		Ledger:          f.ledger,
		LedgerPath:      f.LedgerPath,
	})
}

// appFunc is App without flags to apply, for the Options of the commands
// that have none.
func (f *Factory) appFunc() func() (*app.App, error) {
	return func() (*app.App, error) { return f.App(nil) }
}

// importSources are ImportOptions with the Factory's clock when they name
// none.
func (f *Factory) importSources() providers.ImportOptions {
	io := f.ImportOptions
	if io.Clock == nil {
		io.Clock = f.Clock
	}
	return io
}

// logger is the Logger, or one that discards: never nil.
func (f *Factory) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

// OpenAppFunc wires either the demo or the real program from the config
// with log as its log, letting override apply command-line flags first;
// release frees what the demo started.
type OpenAppFunc func(ctx context.Context, demo bool, log *slog.Logger, override func(*config.Config) error) (a *app.App, release func(), err error)

// openApp is the Factory's OpenAppFunc: the demo runs fakes on loopback
// and touches no real file.
func (f *Factory) openApp(ctx context.Context, demo bool, log *slog.Logger, override func(*config.Config) error) (a *app.App, release func(), err error) {
	if !demo {
		a, err = f.app(override, f.Store, log)
		return a, func() {}, err
	}
	if f.DemoApp == nil {
		return nil, nil, errors.New("--demo is not built into this binary")
	}
	a, release, err = f.DemoApp(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	return a, release, nil
}

// openLedger opens the usage ledger at LedgerPath for the commands that
// share quota observations (serve, the dashboard, quota, statusline); the
// Apps built afterwards keep their observations in it. close releases it.
// Without a LedgerPath it opens nothing.
func (f *Factory) openLedger(ctx context.Context) (close func(), err error) {
	if f.LedgerPath == "" || f.ledger != nil {
		return func() {}, nil
	}
	db, err := ledger.Open(ctx, f.LedgerPath)
	if err != nil {
		return func() {}, err
	}
	f.ledger = db
	return func() {
		_ = db.Close()
		f.ledger = nil
	}, nil
}

// quotaStore is the opened ledger as an App's QuotaStore, or nil.
func (f *Factory) quotaStore() quotawatch.Store {
	if f.ledger == nil {
		return nil
	}
	return f.ledger
}

// quotaPollDir is where the usage endpoints' schedule is shared: beside
// the ledger, or nowhere (this process only) without one.
func (f *Factory) quotaPollDir() string {
	if f.LedgerPath == "" {
		return ""
	}
	return filepath.Dir(f.LedgerPath)
}

// now is the Factory's clock's time, or the wall clock without one.
func (f *Factory) now() time.Time {
	if f.Clock == nil {
		return time.Now()
	}
	return f.Clock.Now()
}
