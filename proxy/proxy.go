package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/hub"
	"github.com/ccproxy-tui/ccproxy-tui/internal/provname"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// DefaultListen is where the proxy binds when Options.Listen is empty: loopback only.
const DefaultListen = "127.0.0.1:8787"

// DefaultMaxBody is the request body limit when Options.MaxBody is zero. Bodies are
// buffered up to this size so a request can be replayed after a forced refresh.
const DefaultMaxBody int64 = 32 << 20

// TokenSource yields a provider's credentials on the hot path and replaces
// an access token the upstream rejected. *auth.Manager satisfies it.
type TokenSource interface {
	Credentials(ctx context.Context) (auth.Credentials, error)
	// Rejected returns credentials to retry with after the upstream
	// answered 401 for the access token rejected: the current ones when
	// that token was already replaced, else those of one refresh shared by
	// every request rejected with the same token.
	Rejected(ctx context.Context, rejected string) (auth.Credentials, error)
}

// Target is what the proxy needs to know of a provider's API: where it lives,
// how to put the token on a request, and in which JSON shape errors are
// written. *providers.Provider satisfies it.
type Target interface {
	BaseURL(c auth.Credentials) (*url.URL, error)
	Decorate(h http.Header, c auth.Credentials)
	ErrorFormat() string
}

// Rerouter is a Target whose API has paths outside its base: Codex's
// usage endpoint lives at /backend-api/wham/usage, beside the
// /backend-api/codex base its requests go to. Reroute returns the base and
// path a client path after the route prefix goes to; it sees every request
// of the route, so it must be cheap.
type Rerouter interface {
	Reroute(base *url.URL, rest string) (*url.URL, string)
}

// AccountSource picks one of a provider's accounts for a request:
// /<provider>/… asks for "" (the active account), /<provider>@<name>/…
// for name. It returns the account's name ("" for a provider without
// accounts) and its token source; an account the provider does not have
// is an *accounts.UnknownError.
type AccountSource interface {
	Account(ctx context.Context, name string) (string, TokenSource, error)
}

// Upstream binds a route name (/<Name>/…) to a provider's API and its
// credentials: Accounts when the provider has several accounts, else
// Tokens (then /<Name>@<account>/ routes are unknown).
type Upstream struct {
	Name     string
	Target   Target
	Tokens   TokenSource
	Accounts AccountSource
}

// Options configure a Server. Zero values pick safe defaults: loopback listen,
// 32 MiB bodies, the real clock, a discarding logger.
type Options struct {
	// Listen is host:port; a non-loopback host requires APIKey.
	Listen string
	// APIKey, when set, must be presented by every client (Authorization:
	// Bearer or x-api-key) except on /healthz.
	APIKey string
	// MaxBody limits request bodies; larger ones get 413.
	MaxBody int64
	// IdleTimeout cuts an upstream that sends nothing this long within
	// its body (the stream ends). Before its headers it has AnswerWait, or
	// IdleTimeout when longer (the client gets a 504). DefaultIdleTimeout
	// when 0; negative: never.
	IdleTimeout time.Duration
	// BodyTimeout is how long a client may take to send its request body
	// (408 after). DefaultBodyTimeout when 0; negative: no limit.
	BodyTimeout time.Duration
	// Upstreams are the routes, one per provider.
	Upstreams []Upstream
	// Status feeds GET /status; nil serves an empty provider list.
	Status func(ctx context.Context) []auth.Status
	// Quota feeds the quota of GET /status (the `quota --json` array);
	// nil serves an empty one.
	Quota func(ctx context.Context) []quota.Snapshot
	// AuthDropped counts the credential events the rest of the program
	// missed, so /status shows every lost event, not only the proxy's own.
	AuthDropped func() uint64
	// Record, when set, is handed every request's Event as it ends, before
	// any subscriber, on the request's goroutine: it must not block (the
	// usage ledger queues it).
	Record func(Event)
	// KeepBodies puts each request's headers and bodies on its Event
	// (Event.Capture), credentials masked, for the ledger's bodies = true.
	KeepBodies bool
	// Ledger, when set, feeds the "ledger" object of GET /status: what the
	// usage ledger wrote and dropped.
	Ledger func() any
	// LoginAdvice is the next step a 401 names for a provider with no
	// usable login; nil says to run ccproxy-tui auth login <provider>.
	// The demo, whose logins live only in its dashboard, names the key.
	LoginAdvice func(provider string) string
	// Clock stamps events and measures durations and uptime.
	Clock clockwork.Clock
	// Logger receives request and error logs; tokens and client
	// credentials are never logged.
	Logger *slog.Logger
}

// Server is the embedded proxy. Its handler is built once in New; Start and
// Stop bind and free the listening socket and may be called repeatedly.
type Server struct {
	opts       Options
	routes     map[string]*route
	names      []string // known route names in the order given, for 404 messages
	keyHash    [32]byte // sha256 of APIKey, compared in constant time
	hasKey     bool
	listenHost string // host part of Listen, lowercased
	wildcard   bool   // Listen host is unspecified (0.0.0.0, ::, "")
	clock      clockwork.Clock
	log        *slog.Logger
	rp         *httputil.ReverseProxy
	idle       *idleWatch // nil without an idle timeout
	handler    http.Handler
	events     hub.Hub[Event]
	quotas     hub.Hub[quota.Snapshot] // the new quota readings alone (SubscribeQuota)
	stats      stats
	started    atomic.Int64 // UnixNano of New, then of the last Start: the uptime origin

	mu sync.Mutex // guards srv, done; serialises Start and Stop
	// url is the running URL, nil when stopped. It is atomic so Running
	// and URL never wait for a Stop that is draining streams.
	url  atomic.Pointer[string]
	srv  *http.Server
	done chan struct{} // closed when the Serve goroutine returns
}

// reserved route names are the proxy's own endpoints.
var reserved = map[string]bool{"healthz": true, "status": true}

// New validates opts and builds the handler and the upstream transport. It
// refuses a non-loopback listen address unless an APIKey is set: anything
// else would hand the user's subscriptions to the network.
func New(opts Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.BodyTimeout == 0 {
		opts.BodyTimeout = DefaultBodyTimeout
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("proxy listen %q: %w", opts.Listen, err)
	}
	if !isLoopbackHost(host) && opts.APIKey == "" {
		return nil, fmt.Errorf("proxy listen %q is not a loopback address: set [proxy] api_key first, or listen on 127.0.0.1", opts.Listen)
	}
	s := &Server{
		opts:       opts,
		routes:     make(map[string]*route, len(opts.Upstreams)),
		listenHost: strings.ToLower(host),
		clock:      opts.Clock,
		log:        opts.Logger,
	}
	s.wildcard = host == "" || host == "0.0.0.0" || host == "::"
	if opts.APIKey != "" {
		s.keyHash = hashKey(opts.APIKey)
		s.hasKey = true
	}
	for _, u := range opts.Upstreams {
		switch {
		case !provname.Valid(u.Name):
			return nil, fmt.Errorf("proxy upstream: %w", provname.Check(u.Name))
		case reserved[u.Name]:
			return nil, fmt.Errorf("proxy upstream %q: name is reserved for the proxy's own endpoint", u.Name)
		case u.Target == nil || (u.Tokens == nil && u.Accounts == nil):
			return nil, fmt.Errorf("proxy upstream %q: needs a Target and a TokenSource or AccountSource", u.Name)
		case s.routes[u.Name] != nil:
			return nil, fmt.Errorf("proxy upstream %q: defined twice", u.Name)
		}
		s.routes[u.Name] = &route{name: u.Name, target: u.Target, tokens: u.Tokens, accounts: u.Accounts, format: u.Target.ErrorFormat()}
		s.names = append(s.names, u.Name)
	}
	s.started.Store(s.clock.Now().UnixNano())
	if opts.IdleTimeout > 0 {
		s.idle = newIdleWatch(s.clock, opts.IdleTimeout)
	}
	s.rp = s.newReverseProxy(newTransport(s.idle != nil))
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s, nil
}

// Handler serves the proxy without a socket (tests, benchmarks, embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Start binds the listen address and serves until Stop; ctx bounds the bind
// only. It fails at once when the port is taken, so the caller can report
// it: with a *ServingElsewhereError when another ccproxy-tui serves there.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("proxy already running at " + s.URL())
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		// A *ServingElsewhereError when our own proxy already runs there.
		if e := s.elsewhere(ctx, err); e != err {
			return e
		}
		return fmt.Errorf("proxy listen %s: %w", s.opts.Listen, err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	url := "http://" + ln.Addr().String()
	s.srv, s.done = srv, done
	s.started.Store(s.clock.Now().UnixNano())
	s.url.Store(&url)
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("proxy serve", "err", err)
		}
	}()
	s.log.Info("proxy started", "url", url)
	return nil
}

// Stop drains in-flight requests until ctx's deadline (http.Server.Shutdown),
// then closes whatever is left, and frees the port. Stopping a stopped
// server is a no-op.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Deadline hit with streams still open: cut them.
		err = errors.Join(fmt.Errorf("proxy drain: %w", err), s.srv.Close())
	}
	<-s.done
	s.log.Info("proxy stopped", "url", s.URL())
	s.srv, s.done = nil, nil
	s.url.Store(nil)
	return err
}

// Running reports whether Start has bound the socket and Stop has not freed
// it. It never blocks, so a dashboard may call it at any time.
func (s *Server) Running() bool { return s.url.Load() != nil }

// URL is the base URL clients use while running (the port resolved, so a
// ":0" listen works), or "" when stopped.
func (s *Server) URL() string {
	if u := s.url.Load(); u != nil {
		return *u
	}
	return ""
}
