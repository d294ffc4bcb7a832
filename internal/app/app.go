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

	"github.com/ccproxy-tui/ccproxy-tui/accounts"
	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/quotawatch"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
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
	cfg      config.Config
	store    store.Store
	clock    clockwork.Clock
	log      *slog.Logger
	registry *providers.Registry
	book     *accounts.Book
	// sets are the providers' accounts, one set per enabled provider;
	// the map is not changed after New.
	sets map[string]*accountSet
	// running is set while Run runs: managers made meanwhile keep
	// unsaved refreshes too.
	running   atomic.Bool
	bus       *auth.Bus
	scheduler *auth.Scheduler
	proxy     *proxy.Server
	quota     *quotawatch.Watcher
	// quotas are the proxy's quota readings, subscribed in New so that
	// Run misses none; Run keeps them.
	quotas <-chan quota.Snapshot

	ledgerDB   *ledger.DB
	ledgerPath string
	ledger     atomic.Pointer[usageLedger] // nil until StartLedger

	fixMu sync.Mutex // guards fixes, early and built
	// fixes are the store's permission fixes not yet handed to a screen.
	fixes []string
	// early are the fix events of New, published before anyone could
	// subscribe; Run publishes them again for the dashboard.
	early []auth.Event
	built bool
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
	reg, err := providers.NewRegistry(opts.Config.ProviderSpecs(), append(popts, opts.ProviderOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a.registry = reg
	a.scheduler = auth.NewScheduler(auth.SchedulerOptions{Clock: a.clock})
	a.book = accounts.New(a.store, a.clock)
	a.sets = make(map[string]*accountSet)
	var ups []proxy.Upstream
	for _, p := range reg.All() {
		set := a.openAccounts(context.Background(), p)
		a.sets[p.Name] = set
		ups = append(ups, proxy.Upstream{Name: p.Name, Target: p, Accounts: route{a: a, set: set}})
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
	a.quotas, _ = srv.SubscribeQuota(256)
	a.fixMu.Lock()
	a.built = true
	a.fixMu.Unlock()
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
	key := accounts.Key{Provider: "store"}
	if name, ok := strings.CutSuffix(filepath.Base(p.Path), ".json"); ok {
		if k, ok := accounts.ParseKey(name); ok {
			key = k
		}
	}
	e := auth.Event{Time: a.clock.Now(), Provider: key.Provider, Account: key.Account, Kind: auth.PermissionsFixed, Message: msg}
	a.fixMu.Lock()
	if !a.built {
		a.early = append(a.early, e)
	}
	a.fixMu.Unlock()
	a.bus.Publish(e)
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

func (a *App) manager(ctx context.Context, sel string) (*providers.Provider, *auth.Manager, error) {
	set, m, _, err := a.resolve(ctx, sel)
	if err != nil {
		return nil, nil, err
	}
	return set.p, m, nil
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

// Statuses reports every account of every enabled provider, in display
// order, the active account of each marked.
func (a *App) Statuses(ctx context.Context) []auth.Status {
	var out []auth.Status
	for _, p := range a.registry.All() {
		out = append(out, a.statuses(ctx, a.sets[p.Name])...)
	}
	return out
}

// ProviderStatuses reports every account of one provider.
func (a *App) ProviderStatuses(ctx context.Context, provider string) ([]auth.Status, error) {
	p, err := a.registry.Get(provider)
	if err != nil {
		return nil, err
	}
	set := a.sets[p.Name]
	if err := a.sync(ctx, set); err != nil {
		return nil, err
	}
	return a.statuses(ctx, set), nil
}

// Status reports one account: sel is "<provider>" for the active one or
// "<provider>@<account>".
func (a *App) Status(ctx context.Context, sel string) (auth.Status, error) {
	set, m, name, err := a.resolve(ctx, sel)
	if err != nil {
		return auth.Status{}, err
	}
	st := accountAdvice(m.Status(ctx))
	set.mu.Lock()
	st.Active = name != "" && name == set.active
	set.mu.Unlock()
	return st, nil
}

// Token returns a valid access token of the account sel names,
// refreshing it first when needed.
func (a *App) Token(ctx context.Context, sel string) (string, error) {
	_, m, err := a.manager(ctx, sel)
	if err != nil {
		return "", err
	}
	return m.Token(ctx)
}

// Refresh renews the credentials of the account sel names now.
func (a *App) Refresh(ctx context.Context, sel string) (auth.Credentials, error) {
	_, m, err := a.manager(ctx, sel)
	if err != nil {
		return auth.Credentials{}, err
	}
	return m.ForceRefresh(ctx)
}

// Logout forgets the stored credentials of the account sel names (the
// active one for a bare provider). When that was the active account, the
// first one left becomes active.
//
// It first revokes the refresh token (RFC 7009) where the provider has a
// revocation endpoint (config revocation_url, discovery, or the built-in's
// own), then deletes the local credentials whatever the server answered;
// the Revocation says which happened.
func (a *App) Logout(ctx context.Context, sel string) (auth.Revocation, error) {
	set, m, name, err := a.resolve(ctx, sel)
	if err != nil {
		return auth.Revocation{}, err
	}
	rev, err := a.logout(ctx, set.p, m)
	if err != nil {
		return rev, err
	}
	return rev, a.afterLogout(ctx, set, name)
}

// Adopt saves credentials imported from an official CLI as a login would:
// as the account named (or the one their identity names), made active.
// It returns the account's name.
func (a *App) Adopt(ctx context.Context, account string, c auth.Credentials) (string, error) {
	sel := c.Provider
	if account != "" {
		sel += "@" + account
	}
	return a.saveLogin(ctx, sel, c)
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
	a.fixMu.Lock()
	early := a.early
	a.early = nil
	a.fixMu.Unlock()
	for _, e := range early {
		a.bus.Publish(e) // the folder fixed at the start, for the dashboard
	}
	a.running.Store(true)
	for _, set := range a.sets {
		for _, m := range set.managers() {
			m.KeepUnsaved(true)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		a.running.Store(false)
		for _, set := range a.sets {
			for _, m := range set.managers() {
				m.KeepUnsaved(false)
			}
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
		case q := <-a.quotas:
			// Not cut by a stop: a write half done when SIGTERM comes
			// must still land.
			quotaErr = a.observeQuota(context.WithoutCancel(ctx), q, quotaErr)
		}
	}
}

// watch rereads a provider's credentials whenever the store says another
// process may have changed them, so the proxy, the scheduler and the
// dashboard follow a login, logout, import or refresh made elsewhere.
func (a *App) watch(ctx context.Context, w store.Watcher) {
	err := w.Watch(ctx, func(key string) { a.changed(ctx, key) })
	if err != nil {
		a.log.Warn("credentials store: changes made by other processes are seen only after the cache expires", "err", err.Error())
	}
}

func (a *App) logEvent(e auth.Event) {
	attrs := []any{"provider", e.Provider, "event", string(e.Kind)}
	if e.Account != "" {
		attrs = append(attrs, "account", e.Account)
	}
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
// flow. sel is "<provider>" or "<provider>@<account>", the account the
// login is for.
func (a *App) oauth(ctx context.Context, sel string, flow auth.Flow) (*auth.Config, error) {
	p, err := a.loginProvider(sel)
	if err != nil {
		return nil, err
	}
	if !p.Supports(flow) {
		return nil, &UnsupportedFlowError{Provider: p.Name, Flow: flow, Offered: p.Flows}
	}
	cfg, err := p.OAuthConfig(ctx)
	if err != nil {
		return nil, err
	}
	if flow == auth.FlowDevice && cfg.DeviceURL == "" {
		// A generic provider offers device login on the strength of its
		// issuer; its discovery document has the last word.
		return nil, &auth.Error{Provider: p.Name, Op: "device login", Kind: auth.ErrMisconfigured,
			Err:  errors.New("the issuer's discovery document lists no device_authorization_endpoint and the config sets no device_url"),
			Hint: "set device_url in [providers." + p.Name + "], or log in with the browser"}
	}
	return cfg, nil
}

// loginProvider checks a login's selector: a known provider and, when one
// is named, a valid account name.
func (a *App) loginProvider(sel string) (*providers.Provider, error) {
	provider, account := splitSelector(sel)
	p, err := a.registry.Get(provider)
	if err != nil {
		return nil, err
	}
	if account != "" {
		if err := accounts.Check(account); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// BrowserLogin is a browser login whose credentials are saved when it
// completes.
type BrowserLogin struct {
	login *auth.BrowserLogin
	a     *App
	sel   string
}

// StartBrowserLogin binds the provider's loopback callback now; a busy port
// is an error that matches auth.ErrPortInUse. sel is "<provider>", or
// "<provider>@<account>" to log in as that account.
func (a *App) StartBrowserLogin(ctx context.Context, sel string) (*BrowserLogin, error) {
	cfg, err := a.oauth(ctx, sel, auth.FlowBrowser)
	if err != nil {
		return nil, err
	}
	l, err := cfg.StartBrowser(ctx)
	if err != nil {
		return nil, err
	}
	return &BrowserLogin{login: l, a: a, sel: sel}, nil
}

// URL is the authorize URL; always show it.
func (l *BrowserLogin) URL() string { return l.login.URL() }

// Port is the bound callback port (for an ssh -L hint).
func (l *BrowserLogin) Port() int { return l.login.Port() }

// Close frees the callback port.
func (l *BrowserLogin) Close() error { return l.login.Close() }

// Wait blocks until the callback arrives, then saves the credentials as
// the account AccountFor names, made active, and returns them.
func (l *BrowserLogin) Wait(ctx context.Context) (auth.Credentials, error) {
	// Saved before the browser's page says "Logged in".
	return l.login.WaitSave(ctx, func(ctx context.Context, c auth.Credentials) error {
		_, err := l.a.saveLogin(ctx, l.sel, c)
		return err
	})
}

// PasteLogin is a login finished by a pasted code; credentials are saved
// when it completes.
type PasteLogin struct {
	login *auth.PasteLogin
	a     *App
	sel   string
}

// StartPasteLogin prepares a pasted-code login for sel (see StartBrowserLogin).
func (a *App) StartPasteLogin(ctx context.Context, sel string) (*PasteLogin, error) {
	p, err := a.loginProvider(sel)
	if err != nil {
		return nil, err
	}
	flow := auth.FlowPaste
	if !p.Supports(auth.FlowPaste) && p.Supports(auth.FlowBrowser) {
		// Any provider with a browser flow can finish by pasting the
		// address the browser failed to load.
		flow = auth.FlowBrowser
	}
	cfg, err := a.oauth(ctx, sel, flow)
	if err != nil {
		return nil, pasteError(err)
	}
	l, err := cfg.StartPaste(ctx)
	if err != nil {
		return nil, err
	}
	return &PasteLogin{login: l, a: a, sel: sel}, nil
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
// address), then saves the credentials as the account AccountFor names,
// made active, and returns them.
func (l *PasteLogin) Complete(ctx context.Context, pasted string) (auth.Credentials, error) {
	c, err := l.login.Complete(ctx, pasted)
	if err != nil {
		return auth.Credentials{}, err
	}
	if _, err := l.a.saveLogin(ctx, l.sel, c); err != nil {
		return auth.Credentials{}, err
	}
	return c, nil
}

// DeviceLogin runs a device-code login for sel (see StartBrowserLogin),
// calling show once the user code is known, and saves the credentials as
// the account AccountFor names, made active.
func (a *App) DeviceLogin(ctx context.Context, sel string, show func(auth.DeviceCode)) (auth.Credentials, error) {
	cfg, err := a.oauth(ctx, sel, auth.FlowDevice)
	if err != nil {
		return auth.Credentials{}, err
	}
	c, err := cfg.DeviceLogin(ctx, show)
	if err != nil {
		return auth.Credentials{}, err
	}
	if _, err := a.saveLogin(ctx, sel, c); err != nil {
		return auth.Credentials{}, err
	}
	return c, nil
}
