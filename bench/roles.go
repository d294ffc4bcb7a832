package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/internal/quotawatch"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// benchToken is the fake subscription token every proxy injects.
const benchToken = "bench-access-token-0123456789abcdef"

// serveRole runs one child process role until SIGTERM/stdin EOF. It prints
// "<service URL> <control URL>" on stdout; the control URL answers
// /goroutines with runtime.NumGoroutine().
func serveRole(role, upstream string, withLedger bool) error {
	var h http.Handler
	switch role {
	case "upstream":
		var plans map[string]fake.QuotaPlan
		if withQuota {
			// Every answer carries a full set of unified headers, as
			// Claude's do; PerRequest 0 keeps it from ever refusing.
			plans = map[string]fake.QuotaPlan{"/v1": {Family: fake.QuotaAnthropic, Used: 42}}
		}
		h = fake.NewUpstream(fake.UpstreamOptions{Quota: plans})
	case "bare":
		u, err := url.Parse(upstream)
		if err != nil {
			return err
		}
		h = newBare(u, benchToken)
	case "ccproxy":
		u, err := url.Parse(upstream)
		if err != nil {
			return err
		}
		opts := proxy.Options{
			Listen:    "127.0.0.1:0",
			Upstreams: []proxy.Upstream{{Name: "claude", Target: benchTarget{base: u}, Tokens: memTokens{}}},
		}
		var db *ledger.DB
		if withLedger {
			// As serve records: every request through a Writer into a
			// usage.db (here a temporary one).
			w, d, closeLedger, err := benchLedger()
			if err != nil {
				return err
			}
			defer closeLedger()
			db = d
			opts.Record = func(ev proxy.Event) { w.Add(app.LedgerRecord(ev)) }
		}
		s, err := proxy.New(opts)
		if err != nil {
			return err
		}
		if withQuota {
			// As serve's app.Run does: every response's quota merged and
			// kept (in the ledger when there is one).
			stopQuota := keepQuota(s, db)
			defer stopQuota()
		}
		h = s.Handler()
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	if profileDir != "" && role != "upstream" {
		stop, err := startProfile(filepath.Join(profileDir, role+".pprof"))
		if err != nil {
			return err
		}
		defer stop()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h}
	ctlSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, runtime.NumGoroutine())
	})}
	go func() { _ = srv.Serve(ln) }()
	go func() { _ = ctlSrv.Serve(ctl) }()
	fmt.Printf("http://%s http://%s\n", ln.Addr(), ctl.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	_ = ctlSrv.Close()
	return srv.Close()
}

// startProfile records this process's CPU profile into path until stop.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// benchLedger opens a usage ledger in a temporary folder, removed by close.
func benchLedger() (*ledger.Writer, *ledger.DB, func(), error) {
	dir, err := os.MkdirTemp("", "ccproxy-bench-ledger")
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := ledger.Open(context.Background(), filepath.Join(dir, ledger.FileName))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	w := ledger.NewWriter(db, ledger.WriterOptions{Linger: ledger.DefaultLinger, Idle: ledger.DefaultIdle})
	return w, db, func() {
		_ = w.Close(context.Background())
		_ = db.Close()
		_ = os.RemoveAll(dir)
	}, nil
}

// keepQuota feeds every response's quota to a watcher over db (memory when
// nil) until stop.
func keepQuota(s *proxy.Server, db *ledger.DB) (stop func()) {
	var st quotawatch.Store
	if db != nil {
		st = db
	}
	w := quotawatch.New(quotawatch.Options{Store: st})
	readings, cancel := s.SubscribeQuota(256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for q := range readings {
			_, _ = w.Observe(context.Background(), q)
		}
	}()
	return func() { cancel(); <-done }
}

// benchTarget decorates like the Claude provider does.
type benchTarget struct{ base *url.URL }

func (t benchTarget) BaseURL(auth.Credentials) (*url.URL, error) { return t.base, nil }
func (t benchTarget) ErrorFormat() string                        { return proxy.FormatAnthropic }
func (t benchTarget) Decorate(h http.Header, c auth.Credentials) {
	h.Del("X-Api-Key")
	h.Set("Authorization", "Bearer "+c.AccessToken)
	if b := h.Get("Anthropic-Beta"); b != "" && !strings.Contains(b, "oauth-2025-04-20") {
		h.Set("Anthropic-Beta", "oauth-2025-04-20,"+b)
	} else if b == "" {
		h.Set("Anthropic-Beta", "oauth-2025-04-20")
	}
}

// memTokens is an in-memory token source that never refreshes, like a
// Manager with a warm cache.
type memTokens struct{}

func (memTokens) Credentials(context.Context) (auth.Credentials, error) {
	return auth.Credentials{Provider: "claude", AccessToken: benchToken}, nil
}
func (memTokens) Rejected(context.Context, string) (auth.Credentials, error) {
	return auth.Credentials{Provider: "claude", AccessToken: benchToken}, nil
}
