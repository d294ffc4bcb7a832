package tui

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// fakeUsage is a ledger with a fixed morning of requests.
type fakeUsage struct {
	mu    sync.Mutex // guards loads
	loads int
}

func usageRecords() []ledger.Record {
	return []ledger.Record{
		{ID: 3, Time: t0.Add(-20 * time.Second), Provider: "claude", Account: "default", Method: "POST", Path: "/claude/v1/messages",
			Model: "claude-sonnet-4-5", Status: 200, Duration: 2400 * time.Millisecond, TTFB: 310 * time.Millisecond, BytesIn: 5120, BytesOut: 20480,
			UsageSeen: true, Tokens: usage.Tokens{Input: 1200, Output: 340, CacheRead: 15000, CacheCreation: 60}},
		{ID: 2, Time: t0.Add(-90 * time.Second), Provider: "codex", Account: "default", Method: "POST", Path: "/codex/responses",
			Model: "gpt-5-codex", Status: 429, ErrorKind: "upstream", Duration: 85 * time.Millisecond, TTFB: 84 * time.Millisecond},
		{ID: 1, Time: t0.Add(-5 * time.Minute), Provider: "claude", Account: "default", Method: "POST", Path: "/claude/v1/messages",
			Model: "claude-haiku-4-5\x1b[2J", Status: 200, Duration: 640 * time.Millisecond, TTFB: 120 * time.Millisecond,
			UsageSeen: true, Tokens: usage.Tokens{Input: 40, Output: 12}},
	}
}

func (f *fakeUsage) Recent(context.Context, time.Time, int) ([]ledger.Record, error) {
	f.mu.Lock()
	f.loads++
	f.mu.Unlock()
	return usageRecords(), nil
}

func (f *fakeUsage) Summary(context.Context, time.Time, ledger.Group) ([]ledger.Row, error) {
	return []ledger.Row{
		{Provider: "claude", Requests: 14, InputTokens: 12000, OutputTokens: 3400, CacheReadTokens: 150000},
		{Provider: "codex", Requests: 3, Errors: 1, InputTokens: 900, OutputTokens: 210},
	}, nil
}

func (f *fakeUsage) Series(context.Context, time.Time, time.Duration, int) (map[string][]ledger.Point, error) {
	return map[string][]ledger.Point{
		"claude": {{}, {Requests: 1, Tokens: 900}, {}, {Requests: 3, Tokens: 5000}, {}, {}, {Requests: 2, Tokens: 1200}, {}, {}, {}, {Requests: 4, Tokens: 9000}, {Requests: 2, Tokens: 16600}},
	}, nil
}

func (f *fakeUsage) Get(_ context.Context, id int64) (ledger.Record, error) {
	for _, r := range usageRecords() {
		if r.ID == id {
			if id == 3 {
				r.Detail = &ledger.Detail{
					RequestHeader:  http.Header{"Authorization": {ledger.Masked}, "Anthropic-Version": {"2023-06-01"}},
					RequestBody:    []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024}`),
					ResponseHeader: http.Header{"Content-Type": {"text/event-stream"}},
				}
			}
			return r, nil
		}
	}
	return ledger.Record{}, ledger.ErrNotFound
}

// TestRequestsGolden renders the requests view, one request opened, and
// the details' sparkline, at the small and the usual terminal sizes.
func TestRequestsGolden(t *testing.T) {
	sizes := []struct{ w, h int }{{60, 15}, {80, 24}, {140, 40}}
	cases := []struct {
		name    string
		prepare func(r *rig)
		drive   func(t *testing.T, tm *teatest.TestModel, p probe)
	}{
		{name: "requests_view", drive: func(t *testing.T, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("u"))
			p.waitView(t, "the requests", contains("Requests", "gpt-5-codex", "today: claude 14 req"))
		}},
		{name: "request_open", drive: func(t *testing.T, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("u"))
			p.waitView(t, "the requests", contains("gpt-5-codex"))
			tm.Send(keyPress("enter"))
			p.waitView(t, "the request", contains("Request · claude", "cache read"))
		}},
		{name: "details_usage", drive: func(t *testing.T, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("u"))
			p.waitView(t, "the ledger loaded", contains("today: claude 14 req"))
			tm.Send(keyPress("u"))
			tm.Send(keyPress("enter"))
			p.waitView(t, "the details", contains("Details · claude"))
		}},
		{name: "ledger_lost", prepare: func(r *rig) {
			r.opts.UsageStats = func() ledger.WriterStats {
				return ledger.WriterStats{Written: 10, Dropped: 3, Failed: 2, LastError: "database or disk is full"}
			}
		}, drive: func(t *testing.T, tm *teatest.TestModel, p probe) {
			tm.Send(keyPress("u"))
			p.waitView(t, "the loss", contains("ledger lost 5 records"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, sz := range sizes {
				t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
					r := newRig(t, threeProviders())
					r.opts.Getenv = func(string) string { return "" }
					r.opts.Usage = &fakeUsage{}
					if c.prepare != nil {
						c.prepare(r)
					}
					p := probe{Model: New(r.ctx, r.opts), mu: &sync.Mutex{}, view: new(string)}
					tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(sz.w, sz.h))
					t.Cleanup(func() { _ = tm.Quit() })
					p.waitView(t, "the providers", contains("claude", "codex"))
					c.drive(t, tm, p)
					if err := tm.Quit(); err != nil {
						t.Fatal(err)
					}
					view := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(probe).View()
					checkShape(t, view, sz.w, sz.h)
					if strings.Contains(view, "\x1b[2J") {
						t.Error("a model name's escape sequence reached the screen")
					}
					golden.RequireEqual(t, []byte(view))
				})
			}
		})
	}
}

// TestRequestsWithoutALedger: this proxy's own requests are listed, newest
// first, and enter shows one without asking any ledger.
func TestRequestsWithoutALedger(t *testing.T) {
	r := newRig(t, threeProviders())
	m := r.model(t, 80, 24)
	m = step(t, m, keyPress("u"))
	for i, model := range []string{"first-model", "second-model"} {
		m = step(t, m, proxyEventMsg{Event: proxy.Event{Time: t0.Add(time.Duration(i) * time.Second), Provider: "claude", Method: "POST",
			Path: "/claude/v1/messages", Model: model, Status: 200, Duration: time.Second, UsageSeen: true, Usage: usage.Tokens{Input: 5, Output: 7}}})
	}
	v := m.View()
	if !strings.Contains(v, "this session's requests") || strings.Index(v, "second-model") > strings.Index(v, "first-model") {
		t.Fatalf("requests view, newest first:\n%s", v)
	}
	m = step(t, m, keyPress("enter"))
	if m.overlay != overlayRequest || m.request.Model != "second-model" || !strings.Contains(m.View(), "5 in · 7 out") {
		t.Errorf("enter opened %v %+v:\n%s", m.overlay, m.request, m.View())
	}
	m = step(t, m, keyPress("esc"))
	m = step(t, m, keyPress("u"))
	if m.showRequests || m.focus == paneRequests || !strings.Contains(m.View(), "Activity") {
		t.Errorf("u did not go back to the activity log:\n%s", m.View())
	}
}

// TestStaleUsageLoadIsDropped: only the load the model waits for counts.
func TestStaleUsageLoadIsDropped(t *testing.T) {
	r := newRig(t, threeProviders())
	r.opts.Usage = &fakeUsage{}
	m := r.model(t, 80, 24)
	want := m.usageN
	m = step(t, m, usageLoadedMsg{N: want + 100, Data: usageData{Recent: usageRecords()[:1]}})
	if len(m.requests.rows) != 0 || m.usageN != want {
		t.Fatalf("a stale load was taken: %d rows, waiting for %d", len(m.requests.rows), m.usageN)
	}
	m = step(t, m, usageLoadedMsg{N: want, Data: usageData{Recent: usageRecords()}})
	if len(m.requests.rows) != 3 || m.usageN != 0 {
		t.Errorf("the awaited load: %d rows, usageN %d", len(m.requests.rows), m.usageN)
	}
}

func TestRequestsCursor(t *testing.T) {
	com := &Common{Styles: NoColorStyles(), Keys: DefaultKeyMap(), Now: t0}
	rm := newRequests(com, true).SetSize(60, 4) // two rows fit
	rm, _ = rm.Update(usageLoadedMsg{Data: usageData{Recent: usageRecords()}})
	for _, tc := range []struct {
		key     string
		cur, to int
	}{{"j", 1, 0}, {"j", 2, 1}, {"j", 2, 1}, {"g", 0, 0}, {"G", 2, 1}, {"k", 1, 1}} {
		rm, _ = rm.Update(keyPress(tc.key))
		if rm.cur != tc.cur || rm.top != tc.to {
			t.Errorf("after %s: cursor %d top %d, want %d %d", tc.key, rm.cur, rm.top, tc.cur, tc.to)
		}
	}
}

func TestSparklineAndCompact(t *testing.T) {
	if got := sparkline([]int64{0, 1, 4, 8, 2}); got != "·▁▄█▂" {
		t.Errorf("sparkline = %q", got)
	}
	if got := sparkline([]int64{0, 0}); got != "··" {
		t.Errorf("empty sparkline = %q", got)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1500: "1.5k", 16360: "16.4k", 2_500_000: "2.5M", 3_000_000_000: "3.0G"} {
		if got := compact(n); got != want {
			t.Errorf("compact(%d) = %q, want %q", n, got, want)
		}
	}
}
