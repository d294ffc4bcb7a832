package tui

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// probe wraps the dashboard in a running program and keeps its latest view,
// so a test can wait for a state instead of for time.
type probe struct {
	Model
	mu   *sync.Mutex // guards view
	view *string
}

func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	nm, cmd := p.Model.Update(msg)
	p.Model = nm.(Model)
	v := p.Model.View()
	p.mu.Lock()
	*p.view = v
	p.mu.Unlock()
	return p, cmd
}

func (p probe) current() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *p.view
}

// waitView polls the program's latest view until cond holds.
func (p probe) waitView(t *testing.T, what string, cond func(v string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(p.current()) {
		if time.Now().After(deadline) {
			t.Fatalf("view never showed %s; last view:\n%s", what, p.current())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func contains(subs ...string) func(string) bool {
	return func(v string) bool {
		v = ansi.Strip(v) // what the user reads, in colour too
		for _, s := range subs {
			if !strings.Contains(v, s) {
				return false
			}
		}
		return true
	}
}

// ansi256Styles are the coloured styles on a 256-colour dark terminal.
func ansi256Styles() *Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	r.SetHasDarkBackground(true)
	return NewStyles(r)
}

// TestGolden renders each screen a user meets, at three terminal sizes, in a
// real bubbletea program with a fixed clock, and compares it with
// testdata/TestGolden/<case>/<size>.golden (go test ./tui -run TestGolden -update).
func TestGolden(t *testing.T) {
	sizes := []struct{ w, h int }{{60, 15}, {80, 24}, {140, 40}}
	cases := []struct {
		name     string
		statuses func() []auth.Status
		prepare  func(r *rig)
		drive    func(t *testing.T, r *rig, tm *teatest.TestModel, p probe)
	}{
		{name: "first_view", drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {}},
		{name: "after_refresh", prepare: func(r *rig) {
			s := threeProviders()
			s[0].ExpiresAt, s[0].LastRefresh, s[0].AccessTokenPreview = at(8*time.Hour), at(0), "sk-ant-o...N3wT0k3n"
			s[0].RefreshTokenPreview, s[0].NextRefresh = "sk-a...7LmP", t0.Add(8*time.Hour-2*time.Minute)
			r.b.afterRefresh = s
		}, drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("r"))
			p.waitView(t, "the refreshed token", func(v string) bool {
				return contains("refreshed", "8h00m")(v) && !strings.Contains(v, "refreshing")
			})
		}},
		{name: "urgency_colour", statuses: urgentProviders, prepare: func(r *rig) { r.opts.Styles = ansi256Styles() }},
		{name: "urgency_no_color", statuses: urgentProviders, prepare: func(r *rig) { r.opts.Styles = NoColorStyles() }},
		{name: "browser_login", drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("l"))
			p.waitView(t, "the browser modal", contains("No browser opened here"))
		}},
		{name: "device_login", prepare: func(r *rig) { r.b.deviceWait = true }, drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("j"))
			tm.Send(keyPress("j"))
			tm.Send(keyPress("d"))
			p.waitView(t, "the device code", contains("WDJB-MJHT"))
		}},
		{name: "paste_login", drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("v"))
			p.waitView(t, "the paste modal", contains("Paste the code"))
			tm.Type("secret-code")
			p.waitView(t, "the masked code", contains(strings.Repeat("•", 11)))
		}},
		{name: "logout_confirm", drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("x"))
			p.waitView(t, "the confirmation", contains("Log out of claude?"))
		}},
		{name: "details", drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("enter"))
			p.waitView(t, "the details", contains("Details · claude"))
		}},
		{name: "help_overlay", drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("?"))
			p.waitView(t, "the help", contains("copy env exports"))
		}},
		{name: "env_overlay", prepare: func(r *rig) {
			r.opts.Env = func(u string) string {
				return "export ANTHROPIC_BASE_URL=" + u + "/claude\nexport ANTHROPIC_AUTH_TOKEN=ccproxy-tui\n" +
					"# codex: add to ~/.codex/config.toml the [model_providers.ccproxy] block with base_url = \"" + u + "/codex/v1\"\n" +
					"export OPENAI_BASE_URL=" + u + "/codex/v1 OPENAI_API_KEY=ccproxy-tui CODEX_HOME=\"$HOME/.codex\" # one long line that must never be cut\n"
			}
		}, drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("p"))
			p.waitView(t, "the running proxy", contains("8787 · "))
			tm.Send(keyPress("e"))
			p.waitView(t, "the exports and the copy", contains("Environment for clients", "Sent the exports"))
		}},
		{name: "log_entry", prepare: func(r *rig) {
			r.b.events <- auth.Event{Time: t0, Provider: "codex", Kind: auth.RefreshFailed,
				Err: errors.New("token endpoint answered 400 invalid_grant: the refresh token was already used by another client; log in again with l")}
		}, drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			p.waitView(t, "the failure in the log", contains("refresh failed"))
			tm.Send(keyPress("tab"))
			tm.Send(keyPress("enter"))
			p.waitView(t, "the whole line", contains("Log · codex", "another client"))
		}},
		{name: "filter", drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("/"))
			tm.Type("co")
			p.waitView(t, "the filtered table", func(v string) bool {
				return contains("/co", "codex", "copilot")(v) && !strings.Contains(v, "> claude")
			})
		}},
		{name: "ssh_browser_login", prepare: func(r *rig) {
			r.b.browser.url = "https://claude.ai/oauth/authorize?client_id=9d1c250a&redirect_uri=http%3A%2F%2Flocalhost%3A54545%2Fcallback&response_type=code&state=c3RhdGU"
			r.opts.Getenv = func(k string) string {
				return map[string]string{"SSH_CONNECTION": "203.0.113.5 51000 198.51.100.7 22", "USER": "ada"}[k]
			}
		}, drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("l"))
			p.waitView(t, "the forward", contains("ssh -L 54545:127.0.0.1:54545 ada@198.51.100.7"))
		}},
		{name: "quota_meters", prepare: func(r *rig) { r.opts.Quota = &fakeQuota{list: twoQuotas()} },
			drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
				p.waitView(t, "the meters", contains("◆primary", "92%"))
			}},
		{name: "quota_details", prepare: func(r *rig) { r.opts.Quota = &fakeQuota{list: twoQuotas()} },
			drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
				p.waitView(t, "the meters", contains("◆primary", "92%"))
				tm.Send(keyPress("enter"))
				p.waitView(t, "the details", contains("Details · claude"))
			}},
		{name: "proxy_running", prepare: func(r *rig) {
			ch := make(chan proxy.Event, 4)
			r.opts.ProxyEvents = ch
			r.px.stats = proxy.Counters{Requests: 2, Errors: 1}
			ch <- proxy.Event{Time: t0.Add(-2 * time.Second), Provider: "claude", Method: "POST", Path: "/v1/messages", Status: 200, Duration: 812 * time.Millisecond, Bytes: 5120}
			ch <- proxy.Event{Time: t0.Add(-time.Second), Provider: "codex", Method: "POST", Path: "/responses", Status: 401, Duration: 35 * time.Millisecond, Bytes: 118, Retried: true}
		}, drive: func(t *testing.T, r *rig, tm *teatest.TestModel, p probe) {
			// Both queued requests first, so "listening at" is always the
			// newest line (otherwise the log's order is a race).
			p.waitView(t, "the requests", contains("/v1/messages", "/responses"))
			tm.Send(keyPress("p"))
			p.waitView(t, "the running proxy", contains("8787 · ", "/v1/messages", "/responses", "listening at http"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, sz := range sizes {
				for _, colour := range []bool{false, true} {
					name := fmt.Sprintf("%dx%d", sz.w, sz.h)
					if colour {
						name += "_colour"
					}
					t.Run(name, func(t *testing.T) {
						st := threeProviders
						if c.statuses != nil {
							st = c.statuses
						}
						r := newRig(t, st())
						r.opts.Getenv = func(string) string { return "" }
						if colour {
							r.opts.Styles = ansi256Styles()
						}
						if c.prepare != nil {
							c.prepare(r)
						}
						p := probe{Model: New(r.ctx, r.opts), mu: &sync.Mutex{}, view: new(string)}
						tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(sz.w, sz.h))
						t.Cleanup(func() { _ = tm.Quit() })
						p.waitView(t, "the providers", contains("claude", "codex"))
						if c.drive != nil {
							c.drive(t, r, tm, p)
						}
						if err := tm.Quit(); err != nil {
							t.Fatal(err)
						}
						final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(probe)
						view := final.View()
						checkShape(t, view, sz.w, sz.h)
						golden.RequireEqual(t, []byte(view))
					})
				}
			}
		})
	}
}

// checkShape asserts the view fills the terminal without a line too wide.
func checkShape(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, terminal %d", len(lines), h)
	}
	for i, l := range lines {
		if n := lipgloss.Width(l); n > w {
			t.Errorf("line %d is %d cells wide, terminal %d: %q", i, n, w, l)
		}
	}
}
