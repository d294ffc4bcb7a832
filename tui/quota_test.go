package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/proxy"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// fakeQuota is a QuotaSource with a scripted list.
type fakeQuota struct {
	mu      sync.Mutex // guards all
	list    []quota.Snapshot
	notices []string
	polls   int
	reads   int
}

func (f *fakeQuota) Quotas(context.Context) ([]quota.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return append([]quota.Snapshot(nil), f.list...), nil
}

func (f *fakeQuota) PollQuota(context.Context) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	n := f.notices
	f.notices = nil
	return n
}

// twoQuotas: claude calm and bound by its 5h window, codex close to its
// limit on the primary window.
func twoQuotas() []quota.Snapshot {
	w := func(name string, used float64, st quota.Status, reset time.Duration, minutes int, src quota.Source, ago time.Duration) quota.Window {
		return quota.Window{Name: name, UsedPercent: used, Status: st, ResetsAt: t0.Add(reset), WindowMinutes: minutes, Source: src, ObservedAt: t0.Add(-ago)}
	}
	return []quota.Snapshot{
		{Provider: "claude", Status: quota.Allowed, Binding: "5h", Source: quota.FromHeaders, ObservedAt: t0.Add(-12 * time.Second), Windows: []quota.Window{
			w("5h", 42, quota.Allowed, 70*time.Minute, 300, quota.FromHeaders, 12*time.Second),
			w("7d", 18, quota.Allowed, 76*time.Hour, 10080, quota.FromEndpoint, 4*time.Minute),
		}},
		{Provider: "codex", Status: quota.Warning, Binding: "primary", Source: quota.FromHeaders, ObservedAt: t0.Add(-3 * time.Minute), Windows: []quota.Window{
			w("primary", 92, quota.Warning, 70*time.Minute, 300, quota.FromHeaders, 3*time.Minute),
			w("secondary", 61, quota.Allowed, 76*time.Hour, 10080, quota.FromHeaders, 3*time.Minute),
		}},
	}
}

func TestQuotaChanges(t *testing.T) {
	snap := func(used float64, reset time.Duration) []quota.Snapshot {
		return []quota.Snapshot{{Provider: "codex", Windows: []quota.Window{{Name: "primary", UsedPercent: used, ResetsAt: t0.Add(reset)}}}}
	}
	tests := []struct {
		name          string
		before, after []quota.Snapshot
		want          string
		lvl           level
	}{
		{"passes 75", snap(70, time.Hour), snap(76, time.Hour), "primary window passed 75%: 76% used", levelWarn},
		{"passes 90 and 75 at once: the higher is said", snap(70, time.Hour), snap(91, time.Hour), "primary window passed 90%: 91% used", levelError},
		{"reaches 100", snap(99, time.Hour), snap(100, time.Hour), "primary window passed 100%: 100% used", levelError},
		{"stays above", snap(91, time.Hour), snap(92, time.Hour), "", 0},
		{"resets", snap(97, time.Hour), snap(2, 6*time.Hour), "primary window reset: 2% used", levelInfo},
		{"first sight says nothing", nil, snap(95, time.Hour), "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := quotaChanges(tc.before, tc.after)
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("got %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 || !strings.HasPrefix(got[0].Text, tc.want) || got[0].Level != tc.lvl || got[0].Provider != "codex" {
				t.Errorf("got %+v, want %q at level %d", got, tc.want, tc.lvl)
			}
		})
	}
}

func TestQuotaMessagesReachThePanes(t *testing.T) {
	r := newRig(t, threeProviders())
	src := &fakeQuota{list: twoQuotas()}
	r.opts.Quota = src
	m := r.model(t, 80, 24)
	first := m.quotaOp
	if first == 0 {
		t.Fatal("no first quota fetch numbered")
	}
	m = step(t, m, quotaMsg{N: first, List: twoQuotas(), Notices: []string{"claude: quota from traffic only (…)"}})
	v := m.View()
	for _, want := range []string{"Quota", "◆5h", "42%", "↻1h10m", "◆primary", "92%", "quota from traffic only"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	// A stale answer is dropped.
	m = step(t, m, quotaMsg{N: first, List: nil})
	if !strings.Contains(m.View(), "92%") {
		t.Error("a stale quota answer replaced the meters")
	}
	// A response with quota asks for a fresh read; the next reading that
	// crosses 100 % says so in the log.
	m, cmd := send(t, m, proxyEventMsg{Event: proxy.Event{Provider: "codex", Status: 429, Quota: &quota.Snapshot{Provider: "codex"}}})
	if m.quotaOp == 0 || cmd == nil {
		t.Fatal("a response's quota did not start a fetch")
	}
	next := twoQuotas()
	next[1].Windows[0].UsedPercent, next[1].Windows[0].Status = 100, quota.Rejected
	m = step(t, m, quotaMsg{N: m.quotaOp, List: next})
	if v := m.View(); !strings.Contains(v, "primary window passed 100%") || !strings.Contains(v, "100%") {
		t.Errorf("no crossing in the log:\n%s", v)
	}
}

func TestQuotaDetails(t *testing.T) {
	r := newRig(t, threeProviders())
	r.opts.Quota = &fakeQuota{}
	m := r.model(t, 140, 40)
	m = step(t, m, quotaMsg{N: m.quotaOp, List: twoQuotas()})
	m = step(t, m, keyPress("enter"))
	v := m.View()
	for _, want := range []string{"Quota 5h", "42% allowed ◆ · ↻1h10m (Nov 23 13:10) · headers 12s ago", "Quota 7d", "endpoint 4m ago",
		"Pace", "at this pace the 5h window lasts until it resets in", "1h10m"} {
		if !strings.Contains(v, want) {
			t.Errorf("details lack %q:\n%s", want, v)
		}
	}
}
