package tui

import (
	"context"
	"io"
	"log/slog"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// Backend is everything the dashboard asks of the rest of the program. Every
// method may block on the network; the dashboard only ever calls them from a
// tea.Cmd, never from Update. Where a method takes a provider, the name may
// be "<provider>@<account>" to act on that account (a row's key).
type Backend interface {
	// Statuses lists every account of every configured provider, in
	// display order, grouped by provider.
	Statuses(ctx context.Context) []auth.Status
	// Switch makes account the provider's active one.
	Switch(ctx context.Context, provider, account string) error
	// StartBrowserLogin binds the loopback callback and returns at once.
	StartBrowserLogin(ctx context.Context, provider string) (BrowserLogin, error)
	// StartPasteLogin prepares a login whose code the user pastes.
	StartPasteLogin(ctx context.Context, provider string) (PasteLogin, error)
	// DeviceLogin runs a whole device login, calling show once the user code
	// is known, and saves the credentials it obtains.
	DeviceLogin(ctx context.Context, provider string, show func(auth.DeviceCode)) error
	// Logout forgets the provider's credentials.
	Logout(ctx context.Context, provider string) error
	// Refresh renews the provider's access token now.
	Refresh(ctx context.Context, provider string) error
}

// BrowserLogin is a browser login in progress: its callback port is bound
// until Wait returns or Close is called.
type BrowserLogin interface {
	// URL is the authorize URL, shown even when a browser opened it.
	URL() string
	// Wait blocks until the callback arrives and the credentials are saved.
	Wait(ctx context.Context) error
	// Close frees the callback port at once.
	Close() error
}

// PasteLogin is a login that finishes with a code the user pastes.
type PasteLogin interface {
	URL() string
	// Complete exchanges the pasted code and saves the credentials.
	Complete(ctx context.Context, pasted string) error
}

// Proxy is the embedded proxy as the dashboard drives it; *proxy.Server
// satisfies it.
type Proxy interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Running() bool
	URL() string
	Stats() proxy.Counters
}

// Options configure Run and New. Backend is required; everything else has a
// default.
type Options struct {
	Backend Backend
	// Proxy may be nil when no proxy is configured; the p key then says so.
	Proxy Proxy
	// AuthEvents and ProxyEvents feed the activity log; nil channels are
	// simply never read.
	AuthEvents  <-chan auth.Event
	ProxyEvents <-chan proxy.Event
	// Env returns the shell exports that point clients at the proxy URL.
	Env func(proxyURL string) string
	// Flows lists the login flows a provider offers, so the dashboard only
	// offers those keys; nil offers every flow.
	Flows func(provider string) []auth.Flow
	// OpenBrowser opens url and reports whether a browser was found.
	OpenBrowser func(url string) (bool, error)
	// Clock supplies "now" for countdowns; nil means the real clock.
	Clock clockwork.Clock
	// Clipboard receives the OSC 52 sequence of the e key (default: the
	// terminal on stderr).
	Clipboard io.Writer
	// Getenv reads the environment (SSH_CONNECTION, TMUX); nil means
	// os.Getenv.
	Getenv func(string) string
	// Tmux loads text into tmux's paste buffer when $TMUX is set; nil
	// runs tmux load-buffer.
	Tmux func(ctx context.Context, text string) error
	// Log receives every failure the dashboard reports (the log file);
	// nil logs nothing.
	Log *slog.Logger
	// Mouse turns on mouse reporting on the main screen (Run sets it).
	Mouse bool
	// NoColor selects the colourless styles (Run sets it from NO_COLOR).
	NoColor bool
	// Styles, when set, overrides the styles chosen from NoColor.
	Styles *Styles
	// Demo adds a banner saying nothing shown is real.
	Demo bool
	// AutostartProxy starts the proxy when the dashboard opens.
	AutostartProxy bool
	// Usage is the usage ledger the requests view and the details read;
	// nil lists only the requests this dashboard's proxy serves.
	Usage Usage
	// UsageStats says what the ledger's writer dropped or lost, so the
	// requests view can say so; nil when there is no writer.
	UsageStats func() ledger.WriterStats
	// Quota feeds the quota meters; nil shows none.
	Quota QuotaSource
}
