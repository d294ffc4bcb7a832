package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/logging"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// DrainTimeout bounds how long serve waits for in-flight requests (streams
// included) after SIGINT/SIGTERM before cutting them.
const DrainTimeout = 30 * time.Second

// ServeOptions are the inputs of `serve`.
type ServeOptions struct {
	IO *iostreams.IO
	// Logger is the log file, which serve's stderr log goes to as well;
	// nil writes stderr only.
	Logger *slog.Logger
	Clock  clockwork.Clock
	// OpenLedger opens the usage ledger serve records into.
	OpenLedger func(ctx context.Context) (close func(), err error)
	OpenApp    OpenAppFunc

	Context   context.Context
	Listen    string
	Demo      bool
	LogFormat string
	LogLevel  string
}

// NewCmdServe builds `serve [--listen ADDR] [--demo] [--log-format text|json] [--log-level LEVEL]`.
func NewCmdServe(f *Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: f.IO, Logger: f.Logger, Clock: f.Clock, OpenLedger: f.openLedger, OpenApp: f.openApp}
	getenv := f.Getenv
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the proxy and the refresh scheduler without the dashboard",
		Long: `Run the proxy and keep every logged-in provider's token fresh, logging to
stderr. SIGINT or SIGTERM stops accepting requests, lets in-flight ones
(streams included) finish for up to 30s, and exits 0.

--listen overrides CCPROXY_TUI_LISTEN, which overrides [proxy] listen.
--log-level overrides CCPROXY_TUI_LOG_LEVEL (info when neither is set);
debug adds a line per request and the quota header values that did not
parse. Tokens are masked at every level.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Context = c.Context()
			switch opts.LogFormat {
			case "text", "json":
			default:
				return flagErrorf("--log-format must be text or json, not %q", opts.LogFormat)
			}
			source := "--log-level"
			if !c.Flags().Changed("log-level") && getenv != nil {
				opts.LogLevel, source = getenv(logging.LevelEnv), logging.LevelEnv
			}
			if _, err := logging.ParseLevel(opts.LogLevel); err != nil {
				return flagErrorf("%s: %v", source, err)
			}
			if opts.Listen != "" {
				if err := config.ValidateListen(opts.Listen); err != nil {
					return flagErrorf("--listen: %v", err)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return serveRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "address to listen on (default from config: 127.0.0.1:8787)")
	cmd.Flags().BoolVar(&opts.Demo, "demo", false, "serve fake providers; nothing is real")
	cmd.Flags().StringVar(&opts.LogFormat, "log-format", "text", "stderr log format: text or json")
	cmd.Flags().StringVar(&opts.LogLevel, "log-level", "info", "stderr log level: debug, info, warn or error")
	return cmd
}

func serveRun(opts *ServeOptions) error {
	ctx, stop := signal.NotifyContext(contextOr(opts.Context), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	level, _ := logging.ParseLevel(opts.LogLevel) // checked by the command
	var h slog.Handler = logging.New(opts.IO.ErrOut, logging.Options{JSON: opts.LogFormat == "json", Level: level}).Handler()
	if opts.Logger != nil {
		h = slog.NewMultiHandler(h, opts.Logger.Handler())
	}
	log := slog.New(h)
	if !opts.Demo {
		closeLedger, err := opts.OpenLedger(ctx)
		if err != nil {
			log.Warn("quota observations stay in this process only", "err", err)
		}
		defer closeLedger()
	}

	a, release, err := opts.OpenApp(ctx, opts.Demo, log, func(c *config.Config) error {
		if opts.Listen != "" {
			c.Proxy.Listen = opts.Listen
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer release()
	bg, err := a.StartBackground(ctx)
	if err != nil {
		log.Warn("usage ledger unavailable", "err", err.Error())
	}
	defer func() {
		// After the proxy has drained: its last requests are in the queue.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := bg.Close(lctx); err != nil {
			log.Warn("usage ledger", "err", err.Error())
		}
	}()
	px := a.Proxy()
	events, unsubscribe := px.Subscribe(256)
	quit, logged := make(chan struct{}), make(chan struct{})
	clock := opts.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	go logRequests(log, clock, events, quit, logged)
	var stopLogging sync.Once
	endLog := func() {
		stopLogging.Do(func() {
			close(quit)
			<-logged
			unsubscribe()
		})
	}
	defer endLog()
	if err := px.Start(ctx); err != nil {
		return fmt.Errorf("%w (choose another with --listen)", err)
	}
	// Routes only: reading every provider's status here would cache "not
	// logged in" and hide a login another process makes a moment later.
	for _, p := range a.Providers() {
		log.Info("route", "provider", p.Name, "url", px.URL()+"/"+p.Name, "upstream", p.APIBase)
	}
	log.Info("serving; stop with Ctrl-C", "url", px.URL())
	<-ctx.Done() // SIGINT/SIGTERM
	bg.StopLoop()
	log.Info("stopping: draining in-flight requests", "timeout", DrainTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DrainTimeout)
	defer cancel()
	stopErr := px.Stop(sctx)
	a.KeepQueuedQuota(sctx) // the quota of responses that ended while draining
	if stopErr != nil {
		return fmt.Errorf("stop proxy: %w", stopErr)
	}
	endLog() // the last requests' summary comes before the last line
	st := px.Stats()
	log.Info("stopped", "requests", st.Requests, "errors", st.Errors)
	return nil
}

// logRequests writes a debug line per proxied request and, each
// logging.SummaryEvery on clock, one info line counting them, until quit;
// then the requests that ended before quit and the last summary, and closes
// done.
func logRequests(log *slog.Logger, clock clockwork.Clock, events <-chan proxy.Event, quit <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ctx := context.Background()
	var tally logging.Tally
	ticker := clock.NewTicker(logging.SummaryEvery)
	defer ticker.Stop()
	write := func(e proxy.Event) {
		tally.Add(e.Provider, e.Status, e.Bytes)
		if !log.Enabled(ctx, slog.LevelDebug) {
			return
		}
		log.Log(ctx, slog.LevelDebug, "request", "provider", e.Provider, "method", e.Method, "path", e.Path,
			"status", e.Status, "duration", e.Duration.Round(time.Millisecond).String(), "bytes", e.Bytes, "retried", e.Retried)
	}
	for {
		select {
		case e := <-events:
			write(e)
		case <-ticker.Chan():
			tally.Flush(ctx, log, logging.SummaryEvery)
		case <-quit:
			for {
				select {
				case e := <-events:
					write(e)
				default:
					tally.Flush(ctx, log, logging.SummaryEvery)
					return
				}
			}
		}
	}
}
