// Package app builds the program's object graph once — config → store →
// provider registry → one auth.Manager per enabled provider → refresh
// scheduler → proxy — and exposes the operations the command line, the
// headless server, the dashboard and the demo share. It prints nothing and
// reads no terminal: callers own all IO.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/quotawatch"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// Options are what New wires together. Config is required; the rest have
// defaults suited to the real program.
type Options struct {
	Config config.Config
	// Store replaces the backend Config.Store selects (the demo and tests
	// pass a memory store).
	Store store.Store
	// Clock is the real clock when nil.
	Clock clockwork.Clock
	// HTTPClient talks to the providers' OAuth endpoints; nil means
	// http.DefaultClient's behaviour.
	HTTPClient *http.Client
	// Logger receives the proxy's request log and the lifecycle events Run
	// observes; nil discards.
	Logger *slog.Logger
	// ProviderOptions are passed on to providers.NewRegistry (an HTTP
	// client or a clock in tests).
	ProviderOptions []providers.Option
	// QuotaStore keeps the latest quota observations across processes
	// (the usage ledger); nil keeps them in memory only.
	QuotaStore quotawatch.Store
	// QuotaPollDir keeps the usage endpoints' shared schedule (beside the
	// ledger); "" keeps it in this process.
	QuotaPollDir string
	// Ledger is the usage ledger StartLedger records into instead of
	// opening the file (the demo passes one in memory); the caller closes it.
	Ledger *ledger.DB
	// LedgerPath is the usage ledger StartLedger opens when Ledger is nil;
	// "" records nothing (tests).
	LedgerPath string
	// LoginAdvice is what the proxy's 401 tells a client to do about a
	// provider with no usable login; nil names the auth login command.
	LoginAdvice func(provider string) string
}

// App is the wired program. Its methods are safe for concurrent use.
type App struct {
	cfg       config.Config
	store     store.Store
	clock     clockwork.Clock
	log       *slog.Logger
	registry  *providers.Registry
	managers  map[string]*auth.Manager
	bus       *auth.Bus
	scheduler *auth.Scheduler
	proxy     *proxy.Server
	quota     *quotawatch.Watcher
	// requests are the proxy's events, subscribed in New so that Run
	// misses none; Run reads them.
	requests <-chan proxy.Event

	ledgerDB   *ledger.DB
	ledgerPath string
	ledger     atomic.Pointer[usageLedger] // nil until StartLedger

	fixMu sync.Mutex // guards fixes
	// fixes are the store's permission fixes not yet handed to a screen.
	fixes []string
}

// New builds the graph. It does no network I/O and binds no socket.
func New(opts Options) (*App, error) {
	a := &App{cfg: opts.Config, store: opts.Store, clock: opts.Clock, log: opts.Logger,
		ledgerDB: opts.Ledger, ledgerPath: opts.LedgerPath}
	if a.clock == nil {
		a.clock = clockwork.NewRealClock()
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.bus = auth.NewBus()
	if a.store == nil {
		st, err := OpenStore(opts.Config.Store, store.WithPermissionReport(a.reportFix))
		if err != nil {
			return nil, err
		}
		a.store = st
	}
	popts := []providers.Option{providers.WithClock(a.clock)}
	if opts.HTTPClient != nil {
		popts = append(popts, providers.WithHTTPClient(opts.HTTPClient))
	}
	reg, err := providers.NewRegistry(opts.Config, append(popts, opts.ProviderOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a.registry = reg
	a.scheduler = auth.NewScheduler(auth.SchedulerOptions{Clock: a.clock})
	a.managers = make(map[string]*auth.Manager)
	var ups []proxy.Upstream
	for _, p := range reg.All() {
		m := auth.NewManager(auth.ManagerOptions{
			Provider:  p.Name,
			Refresher: p,
			Store:     a.store,
			Clock:     a.clock,
			Grace:     opts.Config.Refresh.Grace.Duration,
			CacheTTL:  opts.Config.Refresh.Cache.Duration,
			Bus:       a.bus,
		})
		a.managers[p.Name] = m
		a.scheduler.Add(m)
		ups = append(ups, proxy.Upstream{Name: p.Name, Target: p, Tokens: m})
	}
	a.quota = quotawatch.New(quotawatch.Options{Store: opts.QuotaStore, Clock: a.clock, Logger: a.log})
	a.quota.EnablePolling(quotawatch.PollOptions{Client: opts.HTTPClient, StateDir: opts.QuotaPollDir})
	srv, err := proxy.New(proxy.Options{
		Listen:      opts.Config.Proxy.Listen,
		APIKey:      opts.Config.Proxy.APIKey,
		MaxBody:     opts.Config.Proxy.MaxBody,
		Upstreams:   ups,
		Status:      a.Statuses,
		Quota:       a.quotasForStatus,
		AuthDropped: a.bus.Dropped,
		Record:      a.record,
		KeepBodies:  opts.Config.Ledger.Enabled && opts.Config.Ledger.Bodies,
		Ledger:      a.ledgerStatus,
		LoginAdvice: opts.LoginAdvice,
		Clock:       a.clock,
		Logger:      a.log,
	})
	if err != nil {
		return nil, err // proxy's errors name the proxy already
	}
	a.proxy = srv
	// The app lives as long as the process; the subscription is never
	// cancelled.
	a.requests, _ = srv.Subscribe(256)
	return a, nil
}

// OpenStore opens the credential backend the [store] section selects.
// fileOpts apply to the file backend.
func OpenStore(c config.Store, fileOpts ...store.FileOption) (store.Store, error) {
	switch c.Backend {
	case "", "file":
		st, err := store.NewFile(c.Dir, fileOpts...)
		if err != nil {
			return nil, fmt.Errorf("open credential store: %w", err)
		}
		return st, nil
	case "keyring":
		dir := c.Dir
		if dir == "" {
			dir = store.DefaultDir()
		}
		st, err := store.NewKeyring(dir)
		if err != nil {
			return nil, fmt.Errorf("open keyring store: %w", err)
		}
		return st, nil
	case "memory":
		return store.NewMemory(), nil
	}
	return nil, fmt.Errorf("store: unknown backend %q", c.Backend)
}

// reportFix tells of a credentials file or folder the store found readable
// by others and tightened: in the log at once, on the bus for the
// dashboard, and to the next PermissionNotices call.
func (a *App) reportFix(p store.PermissionFix) {
	msg := p.String()
	a.log.Warn("credentials permissions fixed", "path", p.Path,
		"was", fmt.Sprintf("%04o", p.Was.Perm()), "now", fmt.Sprintf("%04o", p.Now.Perm()))
	a.fixMu.Lock()
	a.fixes = append(a.fixes, msg)
	a.fixMu.Unlock()
	provider := "store"
	if name, ok := strings.CutSuffix(filepath.Base(p.Path), ".json"); ok {
		provider = name
	}
	a.bus.Publish(auth.Event{Time: a.clock.Now(), Provider: provider, Kind: auth.PermissionsFixed, Message: msg})
}

// PermissionNotices returns, once each, the permission fixes the
// credentials store made since the last call, for `auth status` to show.
func (a *App) PermissionNotices() []string {
	a.fixMu.Lock()
	defer a.fixMu.Unlock()
	out := a.fixes
	a.fixes = nil
	return out
}

// Config is the configuration the App was built from.
func (a *App) Config() config.Config { return a.cfg }

// Providers lists the enabled providers in display order.
func (a *App) Providers() []*providers.Provider { return a.registry.All() }

// Provider returns the named provider; an unknown name is a
// *providers.UnknownProviderError listing the known ones.
func (a *App) Provider(name string) (*providers.Provider, error) { return a.registry.Get(name) }

func (a *App) manager(name string) (*providers.Provider, *auth.Manager, error) {
	p, err := a.registry.Get(name)
	if err != nil {
		return nil, nil, err
	}
	return p, a.managers[p.Name], nil
}

// CheckStore reports whether the credentials store can be used at all (a
// keyring without a secret service cannot), so a command fails once, before
// any work, instead of once per provider or after a login.
func (a *App) CheckStore(ctx context.Context) error {
	if _, err := a.store.List(ctx); err != nil {
		return fmt.Errorf("credentials store: %w", err)
	}
	return nil
}

// Statuses reports every enabled provider, in display order.
func (a *App) Statuses(ctx context.Context) []auth.Status {
	all := a.registry.All()
	out := make([]auth.Status, 0, len(all))
	for _, p := range all {
		out = append(out, a.managers[p.Name].Status(ctx))
	}
	return out
}

// Status reports one provider.
func (a *App) Status(ctx context.Context, name string) (auth.Status, error) {
	_, m, err := a.manager(name)
	if err != nil {
		return auth.Status{}, err
	}
	return m.Status(ctx), nil
}

// Token returns a valid access token, refreshing it first when needed.
func (a *App) Token(ctx context.Context, name string) (string, error) {
	_, m, err := a.manager(name)
	if err != nil {
		return "", err
	}
	return m.Token(ctx)
}

// Refresh renews the provider's credentials now.
func (a *App) Refresh(ctx context.Context, name string) (auth.Credentials, error) {
	_, m, err := a.manager(name)
	if err != nil {
		return auth.Credentials{}, err
	}
	return m.ForceRefresh(ctx)
}

// Logout forgets the provider's stored credentials.
//
// It first revokes the refresh token (RFC 7009) where the provider has a
// revocation endpoint (config revocation_url, discovery, or the built-in's
// own), then deletes the local credentials whatever the server answered;
// the Revocation says which happened.
func (a *App) Logout(ctx context.Context, name string) (auth.Revocation, error) {
	p, m, err := a.manager(name)
	if err != nil {
		return auth.Revocation{}, err
	}
	return m.LogoutRevoking(ctx, func(ctx context.Context, c auth.Credentials) auth.Revocation {
		cfg, err := p.OAuthConfig(ctx)
		if err != nil {
			return auth.Revocation{Endpoint: p.OAuth.RevocationURL, Err: err}
		}
		return cfg.Revoke(ctx, c)
	})
}

// Adopt saves credentials imported from an official CLI, as a login would.
func (a *App) Adopt(ctx context.Context, c auth.Credentials) error {
	_, m, err := a.manager(c.Provider)
	if err != nil {
		return err
	}
	return m.Save(ctx, c)
}

// Proxy is the embedded proxy; it is not started until someone calls Start.
func (a *App) Proxy() *proxy.Server { return a.proxy }

// AuthEvents subscribes to the providers' lifecycle events; call the
// returned func to unsubscribe.
func (a *App) AuthEvents(size int) (<-chan auth.Event, func()) { return a.bus.Subscribe(size) }

// Run keeps every provider's token fresh, follows changes other processes
// make to the credentials store, logs lifecycle events and keeps the quota
// each proxied response reports, until ctx ends. It does not start the
// proxy. While it runs, the managers may hold
// refreshed credentials the store cannot take yet (a full disk) until it
// accepts them: this process lives on to use them.
func (a *App) Run(ctx context.Context) {
	events, unsubscribe := a.bus.Subscribe(64)
	defer unsubscribe()
	for _, m := range a.managers {
		m.KeepUnsaved(true)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		for _, m := range a.managers {
			m.KeepUnsaved(false)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.scheduler.Run(ctx)
	}()
	if w, ok := a.store.(store.Watcher); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.watch(ctx, w)
		}()
	}
	var quotaErr string
	for {
		select {
		case <-ctx.Done():
			a.KeepQueuedQuota(context.WithoutCancel(ctx))
			return
		case e := <-events:
			a.logEvent(e)
		case r := <-a.requests:
			if r.Quota != nil {
				// Not cut by a stop: a write half done when SIGTERM
				// comes must still land.
				quotaErr = a.observeQuota(context.WithoutCancel(ctx), *r.Quota, quotaErr)
			}
		}
	}
}

// watch rereads a provider's credentials whenever the store says another
// process may have changed them, so the proxy, the scheduler and the
// dashboard follow a login, logout, import or refresh made elsewhere.
func (a *App) watch(ctx context.Context, w store.Watcher) {
	err := w.Watch(ctx, func(provider string) {
		if m := a.managers[provider]; m != nil {
			m.Reload(ctx)
		}
	})
	if err != nil {
		a.log.Warn("credentials store: changes made by other processes are seen only after the cache expires", "err", err.Error())
	}
}

func (a *App) logEvent(e auth.Event) {
	attrs := []any{"provider", e.Provider, "event", string(e.Kind)}
	if e.Message != "" {
		attrs = append(attrs, "msg", e.Message)
	}
	if !e.ExpiresAt.IsZero() {
		attrs = append(attrs, "expires_at", e.ExpiresAt)
	}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err.Error())
		a.log.Warn("auth", attrs...)
		return
	}
	a.log.Info("auth", attrs...)
}

// UnsupportedFlowError says a provider does not offer the requested login
// flow, and which it does.
type UnsupportedFlowError struct {
	Provider string
	Flow     auth.Flow
	Offered  []auth.Flow
}

func (e *UnsupportedFlowError) Error() string {
	names := make([]string, len(e.Offered))
	for i, f := range e.Offered {
		names[i] = string(f)
	}
	return fmt.Sprintf("%s does not offer %s login (it offers: %s)", e.Provider, e.Flow, strings.Join(names, ", "))
}

// oauth returns the provider's ready OAuth client after checking it offers
// flow.
func (a *App) oauth(ctx context.Context, name string, flow auth.Flow) (*auth.Config, *auth.Manager, error) {
	p, m, err := a.manager(name)
	if err != nil {
		return nil, nil, err
	}
	if !p.Supports(flow) {
		return nil, nil, &UnsupportedFlowError{Provider: p.Name, Flow: flow, Offered: p.Flows}
	}
	cfg, err := p.OAuthConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	if flow == auth.FlowDevice && cfg.DeviceURL == "" {
		// A generic provider offers device login on the strength of its
		// issuer; its discovery document has the last word.
		return nil, nil, &auth.Error{Provider: p.Name, Op: "device login", Kind: auth.ErrMisconfigured,
			Err:  errors.New("the issuer's discovery document lists no device_authorization_endpoint and the config sets no device_url"),
			Hint: "set device_url in [providers." + p.Name + "], or log in with the browser"}
	}
	return cfg, m, nil
}

// BrowserLogin is a browser login whose credentials are saved when it
// completes.
type BrowserLogin struct {
	login *auth.BrowserLogin
	m     *auth.Manager
}

// StartBrowserLogin binds the provider's loopback callback now; a busy port
// is an error that matches auth.ErrPortInUse.
func (a *App) StartBrowserLogin(ctx context.Context, name string) (*BrowserLogin, error) {
	cfg, m, err := a.oauth(ctx, name, auth.FlowBrowser)
	if err != nil {
		return nil, err
	}
	l, err := cfg.StartBrowser(ctx)
	if err != nil {
		return nil, err
	}
	return &BrowserLogin{login: l, m: m}, nil
}

// URL is the authorize URL; always show it.
func (l *BrowserLogin) URL() string { return l.login.URL() }

// Port is the bound callback port (for an ssh -L hint).
func (l *BrowserLogin) Port() int { return l.login.Port() }

// Close frees the callback port.
func (l *BrowserLogin) Close() error { return l.login.Close() }

// Wait blocks until the callback arrives, then saves and returns the
// credentials.
func (l *BrowserLogin) Wait(ctx context.Context) (auth.Credentials, error) {
	// Saved before the browser's page says "Logged in".
	return l.login.WaitSave(ctx, l.m.Save)
}

// PasteLogin is a login finished by a pasted code; credentials are saved
// when it completes.
type PasteLogin struct {
	login *auth.PasteLogin
	m     *auth.Manager
}

// StartPasteLogin prepares a pasted-code login.
func (a *App) StartPasteLogin(ctx context.Context, name string) (*PasteLogin, error) {
	p, _, err := a.manager(name)
	if err != nil {
		return nil, err
	}
	flow := auth.FlowPaste
	if !p.Supports(auth.FlowPaste) && p.Supports(auth.FlowBrowser) {
		// Any provider with a browser flow can finish by pasting the
		// address the browser failed to load.
		flow = auth.FlowBrowser
	}
	cfg, m, err := a.oauth(ctx, name, flow)
	if err != nil {
		return nil, pasteError(err)
	}
	l, err := cfg.StartPaste(ctx)
	if err != nil {
		return nil, err
	}
	return &PasteLogin{login: l, m: m}, nil
}

func pasteError(err error) error {
	var uf *UnsupportedFlowError
	if errors.As(err, &uf) {
		uf.Flow = auth.FlowPaste
	}
	return err
}

// URL is the authorize URL to open.
func (l *PasteLogin) URL() string { return l.login.URL() }

// Complete exchanges what the user pasted (a code or the whole redirect
// address), then saves and returns the credentials.
func (l *PasteLogin) Complete(ctx context.Context, pasted string) (auth.Credentials, error) {
	c, err := l.login.Complete(ctx, pasted)
	if err != nil {
		return auth.Credentials{}, err
	}
	if err := l.m.Save(ctx, c); err != nil {
		return auth.Credentials{}, err
	}
	return c, nil
}

// DeviceLogin runs a device-code login, calling show once the user code is
// known, and saves the credentials.
func (a *App) DeviceLogin(ctx context.Context, name string, show func(auth.DeviceCode)) (auth.Credentials, error) {
	cfg, m, err := a.oauth(ctx, name, auth.FlowDevice)
	if err != nil {
		return auth.Credentials{}, err
	}
	c, err := cfg.DeviceLogin(ctx, show)
	if err != nil {
		return auth.Credentials{}, err
	}
	if err := m.Save(ctx, c); err != nil {
		return auth.Credentials{}, err
	}
	return c, nil
}
