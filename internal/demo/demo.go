package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// clientID is the OAuth client every demo provider uses.
const clientID = "ccproxy-demo"

// Grace is how long before expiry the demo refreshes. A token shows as
// expiring in its last five minutes, so claude-demo's six-minute token is
// green for a minute, yellow while it counts down, and is refreshed (green
// again) 30 s before it would run out, as a real one is.
const Grace = 30 * time.Second

// browserPause is how long the pretend browser "takes", so the login modal
// is on screen long enough to be read.
const browserPause = 1500 * time.Millisecond

// standIn is one demo provider: a generic OIDC provider on the fakes,
// shaped like one built-in.
type standIn struct {
	name, display, email string
	flow                 string
	apiFormat            string
	story
	// quota is how the fake upstream meters this provider; path is the
	// API call the demo's traffic makes.
	quota fake.QuotaPlan
	path  string
}

// story is a stand-in's part in the demo: how long its tokens live,
// whether it starts logged in, and how full its quota starts.
type story struct {
	ttl              time.Duration
	loggedIn         bool
	used, perRequest float64
}

// stories are the parts the built-ins' stand-ins play: claude-demo's
// six-minute token turns yellow after a minute and is refreshed on its
// own, codex-demo is close to its limit, so a few requests take it past
// 90 % and into refusals, and copilot-demo waits for a device login. A
// built-in without a part here plays defaultStory.
var stories = map[string]story{
	"claude":  {ttl: 6 * time.Minute, loggedIn: true, used: 38, perRequest: 3},
	"codex":   {ttl: 20 * time.Minute, loggedIn: true, used: 84, perRequest: 2},
	"copilot": {ttl: 10 * time.Minute, loggedIn: false, used: 12, perRequest: 1},
}

var defaultStory = story{ttl: 15 * time.Minute, loggedIn: true, used: 20, perRequest: 1}

// standIns are one stand-in per built-in provider, in the registry's
// order: named <name>-demo, offering its logins first, speaking its API
// and its quota headers.
var standIns = func() []standIn {
	var out []standIn
	for _, b := range providers.Builtins() {
		st, ok := stories[b.Name]
		if !ok {
			st = defaultStory
		}
		name := b.Name + "-demo"
		out = append(out, standIn{
			name:      name,
			display:   strings.ToUpper(b.Name[:1]) + b.Name[1:] + " (demo)",
			email:     "ada@" + b.Name + ".demo",
			flow:      string(b.Flows[0]),
			apiFormat: b.APIFormat,
			story:     st,
			quota:     fake.QuotaPlan{Family: b.QuotaFamily, Used: st.used, PerRequest: st.perRequest},
			path:      b.ChatPath,
		})
	}
	return out
}()

// TrafficEvery is how often the demo sends each logged-in provider one
// request while the proxy runs, so the quota meters move on their own.
const TrafficEvery = 15 * time.Second

// App builds the demo program; stop closes the fakes. The caller starts the
// scheduler (app.Run) and the proxy as it would for the real program.
func App(ctx context.Context) (a *app.App, stop func(), err error) {
	var closers []func()
	stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()

	plans := map[string]fake.QuotaPlan{}
	for _, p := range standIns {
		plans["/"+p.name] = p.quota
	}
	upstream := httptest.NewServer(fake.NewUpstream(fake.UpstreamOptions{Deltas: 5, Interval: 150 * time.Millisecond, Quota: plans}))
	closers = append(closers, upstream.Close)

	cfg := config.Default()
	// Never collide with a real proxy on 8787, and keep one port for the
	// demo's life, so exports copied before a restart of the proxy (p, p)
	// still point at it.
	listen, err := freePort()
	if err != nil {
		return nil, nil, fmt.Errorf("demo proxy port: %w", err)
	}
	cfg.Proxy.Listen = listen
	cfg.Refresh.Grace = config.Duration{Duration: Grace}
	off := false
	for _, b := range providers.Builtins() {
		cfg.Providers[b.Name] = config.Provider{Enabled: &off}
	}
	servers := map[string]*fake.OAuthServer{}
	for _, p := range standIns {
		srv := fake.NewOAuthServer(
			fake.WithClientID(clientID),
			fake.WithIdentity("demo-"+p.name, p.email),
			fake.WithAccessTTL(p.ttl),
			fake.WithDeviceInterval(2*time.Second),
		)
		closers = append(closers, srv.Close)
		servers[p.name] = srv
		cfg.Providers[p.name] = config.Provider{
			Type:        "oidc",
			DisplayName: p.display,
			Issuer:      srv.Issuer(),
			ClientID:    clientID,
			DeviceURL:   srv.DeviceURL(),
			Flow:        p.flow,
			Scopes:      []string{"openid", "email", "offline_access"},
			APIBase:     upstream.URL + "/" + p.name,
			APIFormat:   p.apiFormat,
		}
	}

	// The demo's requests fill a ledger in memory: the dashboard shows
	// them, and no file of the user's is touched.
	usage, err := ledger.OpenMemory(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	closers = append(closers, func() { _ = usage.Close() })

	a, err = app.New(app.Options{Config: cfg, Store: store.NewMemory(), Ledger: usage, LoginAdvice: loginAdvice})
	if err != nil {
		return nil, nil, fmt.Errorf("demo app: %w", err)
	}
	// Seed the logged-in providers with a refresh token the fake issued,
	// then refresh once so they hold real (fake) tokens and a countdown.
	for _, p := range standIns {
		if !p.loggedIn {
			continue
		}
		rt := servers[p.name].IssueRefreshToken(clientID, "openid email offline_access")
		seed := auth.Credentials{Version: 1, Provider: p.name, RefreshToken: rt, TokenType: "Bearer",
			Scopes: []string{"openid", "email", "offline_access"}, Email: p.email}
		if _, err := a.Adopt(ctx, "", seed); err != nil {
			return nil, nil, fmt.Errorf("demo seed %s: %w", p.name, err)
		}
		if _, err := a.Refresh(ctx, p.name); err != nil {
			return nil, nil, fmt.Errorf("demo seed %s: %w", p.name, err)
		}
	}
	// One request each now, so the meters show from the first frame,
	// then more while the proxy runs.
	send(ctx, a)
	a.KeepQueuedQuota(ctx) // kept now, before the dashboard's first read
	quit, done := make(chan struct{}), make(chan struct{})
	go traffic(a, quit, done)
	closers = append(closers, func() { close(quit); <-done })
	return a, stop, nil
}

// traffic sends the demo's requests every TrafficEvery while the proxy
// runs, until quit.
func traffic(a *app.App, quit <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(TrafficEvery)
	defer tick.Stop()
	for {
		select {
		case <-quit:
			return
		case <-tick.C:
			if a.Proxy().Running() {
				send(context.Background(), a)
			}
		}
	}
}

// send makes one request through the proxy's handler for every logged-in
// demo provider, as a client would; its answer's quota headers reach the
// app like any other response's.
func send(ctx context.Context, a *app.App) {
	for _, p := range standIns {
		if st, err := a.Status(ctx, p.name); err != nil || !st.Authenticated {
			continue
		}
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1/"+p.name+p.path,
			strings.NewReader(`{"model":"demo","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Content-Type", "application/json")
		a.Proxy().Handler().ServeHTTP(httptest.NewRecorder(), req)
	}
}

// OpenBrowser stands in for the user's browser in the demo: it follows the
// authorize URL to the fake server, which approves at once and redirects to
// the login's loopback callback. It refuses any host that is not loopback.
func OpenBrowser(rawURL string) (bool, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false, fmt.Errorf("demo browser: %w", err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return false, errors.New("demo browser: only loopback addresses are opened")
	}
	client := &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if ip := net.ParseIP(req.URL.Hostname()); ip == nil || !ip.IsLoopback() {
				return errors.New("demo browser: redirect leaves loopback")
			}
			if len(via) > 5 {
				return errors.New("demo browser: too many redirects")
			}
			return nil
		},
	}
	<-time.After(browserPause)
	resp, err := client.Get(u.String())
	if err != nil {
		return false, fmt.Errorf("demo browser: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return true, nil
}

// freePort finds a loopback port nothing listens on now, for the demo proxy
// to keep across restarts.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

// loginAdvice is the demo proxy's 401 advice: its logins live only in the
// demo dashboard, so a command run elsewhere could not help.
func loginAdvice(provider string) string {
	for _, p := range standIns {
		if p.name == provider && p.flow == "device" {
			return "in the demo dashboard, select " + provider + " and press d"
		}
	}
	return "in the demo dashboard, select " + provider + " and press l"
}
