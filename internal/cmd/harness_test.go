package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/accounts"
	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/logging"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// output is a goroutine-safe buffer a test can wait on: commands run on
// their own goroutine while the test plays the browser or the approver.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor blocks until the output matches re and returns the first
// submatch (or the whole match), failing the test when ctx ends first.
func (o *output) waitFor(ctx context.Context, t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	for {
		o.mu.Lock()
		m := re.FindStringSubmatch(o.buf.String())
		ch := o.changed
		o.mu.Unlock()
		if m != nil {
			return m[len(m)-1]
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("output never matched %s; got:\n%s", re, o.String())
		}
	}
}

// harness is one isolated installation: a config file pointing the OIDC
// provider "corp" at a fake OAuth server, a private credentials folder, and
// captured stdout, stderr and log.
type harness struct {
	t        *testing.T
	srv      *fake.OAuthServer
	dir      string
	cfgPath  string
	credsDir string
	// ledger is the usage ledger file the commands share.
	ledger string
	env    map[string]string
	clock  clockwork.Clock
	stdin  io.Reader
	out    *output
	errOut *output
	log    *output
	opened []string
	mu     sync.Mutex
	// secrets are values that must never show up in any output.
	secrets []string
}

func newHarness(t *testing.T, clock clockwork.Clock, opts ...fake.Option) *harness {
	t.Helper()
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	opts = append([]fake.Option{fake.WithClock(clock), fake.WithClientID("ccproxy"), fake.WithIdentity("user-42", "ada@example.com")}, opts...)
	srv := fake.NewOAuthServer(opts...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	h := &harness{
		t: t, srv: srv, dir: dir,
		cfgPath:  filepath.Join(dir, "config.toml"),
		credsDir: filepath.Join(dir, "credentials"),
		ledger:   filepath.Join(dir, "state", "usage.db"),
		clock:    clock,
		out:      newOutput(), errOut: newOutput(), log: newOutput(),
	}
	h.env = map[string]string{"CCPROXY_TUI_CONFIG": h.cfgPath}
	h.writeConfig("")
	return h
}

func (h *harness) writeConfig(extra string) {
	h.t.Helper()
	body := fmt.Sprintf(`[store]
backend = "file"
dir = %q

[providers.corp]
type = "oidc"
issuer = %q
client_id = "ccproxy"
device_url = %q
api_base = "http://127.0.0.1:9/api"
%s`, h.credsDir, h.srv.Issuer(), h.srv.DeviceURL(), extra)
	if err := os.WriteFile(h.cfgPath, []byte(body), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) factory() *Factory {
	ios, _, _, _ := iostreams.Test()
	ios.Out, ios.ErrOut = h.out, h.errOut
	if h.stdin != nil {
		ios.In = h.stdin
	}
	return &Factory{
		IO:     ios,
		Getenv: func(k string) string { return h.env[k] },
		Clock:  h.clock,
		OpenBrowser: func(u string) (bool, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.opened = append(h.opened, u)
			return false, nil
		},
		Logger:     logging.New(h.log, logging.Options{}),
		LedgerPath: h.ledger,
	}
}

// run executes argv like main does and returns the exit code.
func (h *harness) run(ctx context.Context, argv ...string) int {
	f := h.factory()
	root := NewCmdRoot(f, nil)
	root.SetContext(ctx)
	return Execute(root, argv, h.errOut, f.Logger)
}

// runAsync starts argv on its own goroutine; the returned channel yields
// its exit code.
func (h *harness) runAsync(ctx context.Context, argv ...string) <-chan int {
	done := make(chan int, 1)
	go func() { done <- h.run(ctx, argv...) }()
	return done
}

// stored reads what the login saved as the provider's active account and
// remembers its tokens as secrets.
func (h *harness) stored(provider string) auth.Credentials {
	h.t.Helper()
	st, err := store.NewFile(h.credsDir)
	if err != nil {
		h.t.Fatal(err)
	}
	blob, err := loadActive(st, provider)
	if err != nil {
		h.t.Fatalf("load %s: %v", provider, err)
	}
	c, err := auth.UnmarshalCredentials(blob)
	if err != nil {
		h.t.Fatal(err)
	}
	h.secret(c.AccessToken, c.RefreshToken, c.IDToken)
	return c
}

// loadActive reads the record of the provider's active account.
func loadActive(st store.Store, provider string) ([]byte, error) {
	ctx := context.Background()
	b := accounts.New(st, nil)
	names, err := b.List(ctx, provider)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s has no account: %w", provider, store.ErrNotFound)
	}
	return st.Load(ctx, store.AccountKey(provider, b.Active(ctx, provider, names)))
}

func (h *harness) secret(vals ...string) {
	for _, v := range vals {
		if v != "" {
			h.secrets = append(h.secrets, v)
		}
	}
}

// assertNoSecrets checks that no token, code or id_token seen by the test
// appears in stdout, stderr or the log.
func (h *harness) assertNoSecrets() {
	h.t.Helper()
	for name, o := range map[string]*output{"stdout": h.out, "stderr": h.errOut, "log": h.log} {
		s := o.String()
		for _, sec := range h.secrets {
			if strings.Contains(s, sec) {
				h.t.Errorf("%s shows a whole secret %s…:\n%s", name, sec[:min(6, len(sec))], s)
			}
		}
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var urlRE = regexp.MustCompile(`(?m)^  (http://\S+)$`)

// pipe is stdin a test writes to while the command reads it.
type pipe struct{ w *os.File }

func (p pipe) WriteString(s string) { p.w.WriteString(s) }

func newPipe(t *testing.T) (*os.File, pipe) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, pipe{w}
}
