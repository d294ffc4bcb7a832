package tui

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// t0 is the fixed "now" of every test.
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

// threeProviders is the first view: one calm, one warning, one logged out.
func threeProviders() []auth.Status {
	return []auth.Status{
		{Provider: "claude", Authenticated: true, State: auth.StateOK, Email: "ada@example.com", Plan: "max",
			ExpiresAt: at(90 * time.Minute), AccessTokenPreview: "sk-ant-o...Zx81Qa0B", RefreshTokenPreview: "sk-a...q9Xw",
			Scopes: []string{"user:inference", "user:profile"}, Storage: "file /home/ada/.config/ccproxy-tui/credentials/claude.json",
			LastRefresh: at(-30 * time.Minute), NextRefresh: t0.Add(88 * time.Minute)},
		{Provider: "codex", Authenticated: true, State: auth.StateExpiring, AccountID: "acct_7f3a9c",
			ExpiresAt: at(25 * time.Minute), AccessTokenPreview: "eyJhbGci...c2lnbmF0", RefreshTokenPreview: "rt_A...9sdf",
			Scopes: []string{"openid", "offline_access"}, Storage: "file /home/ada/.config/ccproxy-tui/credentials/codex.json",
			LastRefresh: at(-35 * time.Minute), NextRefresh: t0.Add(23 * time.Minute)},
		{Provider: "copilot", Authenticated: false, State: auth.StateNeedsLogin, Reason: "not logged in",
			Storage: "file /home/ada/.config/ccproxy-tui/credentials/copilot.json"},
	}
}

// urgentProviders covers every colour of the countdown.
func urgentProviders() []auth.Status {
	s := threeProviders()
	s = append(s[:2],
		auth.Status{Provider: "gemini", Authenticated: true, State: auth.StateExpiring, Email: "ada@corp.example",
			ExpiresAt: at(4*time.Minute + 10*time.Second), AccessTokenPreview: "ya29.a0A...Qk3sT2hv"},
		auth.Status{Provider: "corp", Authenticated: false, State: auth.StateExpired, Email: "ada@corp.example",
			ExpiresAt: at(-2 * time.Minute), AccessTokenPreview: "corpAcce...ssTok3n9", LastError: "refresh corp: invalid_grant"},
		s[2])
	return s
}

// fakeBackend scripts the backend: statuses, and results of each action.
type fakeBackend struct {
	mu       sync.Mutex // guards everything below
	statuses []auth.Status
	calls    []string
	// afterRefresh, when set, replaces statuses once Refresh is called.
	afterRefresh []auth.Status
	refreshErr   error
	events       chan auth.Event
	browser      *fakeBrowser
	paste        *fakePaste
	device       auth.DeviceCode
	deviceErr    error
	// deviceWait makes DeviceLogin wait for ctx after showing the code.
	deviceWait bool
}

func newFakeBackend(st []auth.Status) *fakeBackend {
	return &fakeBackend{
		statuses: st,
		events:   make(chan auth.Event, 16),
		browser:  &fakeBrowser{url: "http://127.0.0.1:54545/oauth/authorize?client_id=demo&code_challenge=Q2hhbGxlbmdl&response_type=code&state=c3RhdGU", done: make(chan error, 1)},
		paste:    &fakePaste{url: "http://127.0.0.1:54545/oauth/authorize?client_id=demo&redirect_uri=paste"},
		device: auth.DeviceCode{UserCode: "WDJB-MJHT", VerificationURI: "http://127.0.0.1:54545/device",
			ExpiresAt: t0.Add(15 * time.Minute), Interval: 5 * time.Second},
	}
}

func (f *fakeBackend) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeBackend) Statuses(context.Context) []auth.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]auth.Status(nil), f.statuses...)
}

func (f *fakeBackend) StartBrowserLogin(_ context.Context, p string) (BrowserLogin, error) {
	f.record("browser " + p)
	return f.browser, nil
}

func (f *fakeBackend) StartPasteLogin(_ context.Context, p string) (PasteLogin, error) {
	f.record("paste " + p)
	return f.paste, nil
}

func (f *fakeBackend) DeviceLogin(ctx context.Context, p string, show func(auth.DeviceCode)) error {
	f.record("device " + p)
	show(f.device)
	if f.deviceWait {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.deviceErr
}

func (f *fakeBackend) Logout(_ context.Context, p string) error {
	f.record("logout " + p)
	return nil
}

func (f *fakeBackend) Switch(_ context.Context, p, a string) error {
	f.record("switch " + p + "@" + a)
	return nil
}

func (f *fakeBackend) Refresh(_ context.Context, p string) error {
	f.record("refresh " + p)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refreshErr != nil {
		return f.refreshErr
	}
	if f.afterRefresh != nil {
		f.statuses = f.afterRefresh
		f.events <- auth.Event{Time: t0, Provider: p, Kind: auth.RefreshSucceeded,
			ExpiresAt: t0.Add(8 * time.Hour), Before: "sk-a...q9Xw", After: "sk-a...7LmP"}
	}
	return nil
}

// fakeBrowser is a browser login whose callback arrives when done is fed.
type fakeBrowser struct {
	url    string
	done   chan error
	mu     sync.Mutex // guards closed
	closed int
}

func (b *fakeBrowser) URL() string { return b.url }
func (b *fakeBrowser) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-b.done:
		return err
	}
}
func (b *fakeBrowser) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed++
	return nil
}
func (b *fakeBrowser) Closed() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

type fakePaste struct {
	url string
	mu  sync.Mutex // guards got
	got []string
	err error
}

func (p *fakePaste) URL() string { return p.url }
func (p *fakePaste) Complete(_ context.Context, code string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, code)
	return p.err
}

// fakeProxy is a proxy that only remembers whether it runs.
type fakeProxy struct {
	mu      sync.Mutex // guards the fields below
	running bool
	stats   proxy.Counters
	starts  int
	stops   int
	failOn  error
}

func (p *fakeProxy) Start(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failOn != nil {
		return p.failOn
	}
	p.starts++
	p.running = true
	return nil
}
func (p *fakeProxy) Stop(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stops++
	p.running = false
	return nil
}
func (p *fakeProxy) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}
func (p *fakeProxy) URL() string { return "http://127.0.0.1:8787" }
func (p *fakeProxy) Stats() proxy.Counters {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

var errBoom = errors.New("token endpoint said 500")
