// Package dashboard wires the program to the tui package: it adapts
// *app.App to the dashboard's small interfaces and runs the refresh loop and
// the usage ledger while the dashboard is open. main.go hands Run to the
// command line as its RunDashboard.
package dashboard

import (
	"context"
	"strings"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/cmd"
	"github.com/ccproxy-tui/ccproxy-tui/internal/demo"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
	"github.com/ccproxy-tui/ccproxy-tui/tui"
)

// Run is the Factory's RunDashboard: it keeps tokens fresh in the
// background while the tui package shows the dashboard.
func Run(ctx context.Context, opts cmd.DashboardOptions) error {
	a := opts.App
	authEvents, unsubAuth := a.AuthEvents(256)
	defer unsubAuth()
	proxyEvents, unsubProxy := a.Proxy().Subscribe(256)
	defer unsubProxy()

	// Started as serve starts it. Without a ledger the dashboard still
	// runs; its status says so.
	bg, _ := a.StartBackground(ctx)
	defer func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = bg.Close(lctx)
	}()

	return tui.Run(ctx, options(opts, authEvents, proxyEvents))
}

// options are the dashboard's tui.Options for the app in opts.
func options(opts cmd.DashboardOptions, authEvents <-chan auth.Event, proxyEvents <-chan proxy.Event) tui.Options {
	a := opts.App
	openBrowser := auth.OpenBrowser
	if opts.Demo {
		// The demo's pretend browser approves the fake login by itself.
		openBrowser = demo.OpenBrowser
	}
	topts := tui.Options{
		Backend:     dashboardBackend{a},
		Proxy:       a.Proxy(),
		AuthEvents:  authEvents,
		ProxyEvents: proxyEvents,
		Env: func(proxyURL string) string {
			var b strings.Builder
			_ = cmd.WriteEnv(&b, a, cmd.EnvRequest{ProxyURL: proxyURL})
			return b.String()
		},
		Flows: func(provider string) []auth.Flow {
			p, err := a.Provider(provider)
			if err != nil {
				return nil
			}
			return p.Flows
		},
		OpenBrowser:    openBrowser,
		Log:            opts.Logger,
		Demo:           opts.Demo,
		AutostartProxy: a.Config().Proxy.Autostart,
		Quota:          dashboardQuota{a},
	}
	if db := a.Ledger(); db != nil {
		topts.Usage = db
		topts.UsageStats = func() ledger.WriterStats { return a.LedgerStatus().WriterStats }
	}
	return topts
}

// dashboardBackend adapts *app.App to tui.Backend: app returns its own login
// types (with credentials), tui wants its small interfaces.
type dashboardBackend struct{ a *app.App }

func (b dashboardBackend) Statuses(ctx context.Context) []auth.Status { return b.a.Statuses(ctx) }

func (b dashboardBackend) Switch(ctx context.Context, provider, account string) error {
	return b.a.Switch(ctx, provider, account)
}

func (b dashboardBackend) StartBrowserLogin(ctx context.Context, provider string) (tui.BrowserLogin, error) {
	l, err := b.a.StartBrowserLogin(ctx, provider)
	if err != nil {
		return nil, err
	}
	return browserLogin{l}, nil
}

func (b dashboardBackend) StartPasteLogin(ctx context.Context, provider string) (tui.PasteLogin, error) {
	l, err := b.a.StartPasteLogin(ctx, provider)
	if err != nil {
		return nil, err
	}
	return pasteLogin{l}, nil
}

func (b dashboardBackend) DeviceLogin(ctx context.Context, provider string, show func(auth.DeviceCode)) error {
	_, err := b.a.DeviceLogin(ctx, provider, show)
	return err
}

func (b dashboardBackend) Logout(ctx context.Context, provider string) error {
	// The revocation's outcome reaches the activity log as an auth event.
	_, err := b.a.Logout(ctx, provider)
	return err
}

func (b dashboardBackend) Refresh(ctx context.Context, provider string) error {
	_, err := b.a.Refresh(ctx, provider)
	return err
}

type browserLogin struct{ l *app.BrowserLogin }

func (l browserLogin) URL() string  { return l.l.URL() }
func (l browserLogin) Close() error { return l.l.Close() }
func (l browserLogin) Wait(ctx context.Context) error {
	_, err := l.l.Wait(ctx)
	return err
}

type pasteLogin struct{ l *app.PasteLogin }

func (l pasteLogin) URL() string { return l.l.URL() }
func (l pasteLogin) Complete(ctx context.Context, pasted string) error {
	_, err := l.l.Complete(ctx, pasted)
	return err
}

// dashboardQuota adapts *app.App to tui.QuotaSource: the tui wants only the
// notices of a poll; the app logs the failures itself.
type dashboardQuota struct{ a *app.App }

func (q dashboardQuota) Quotas(ctx context.Context) ([]quota.Snapshot, error) { return q.a.Quotas(ctx) }

func (q dashboardQuota) PollQuota(ctx context.Context) []string {
	var notices []string
	for _, p := range q.a.PollQuota(ctx) {
		if p.Notice != "" {
			notices = append(notices, p.Notice)
		}
	}
	return notices
}
