package cmd

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

var quotaT0 = time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)

// seedQuota writes snapshots into the harness's ledger, as a serve in
// another process would.
func (h *harness) seedQuota(snaps ...quota.Snapshot) {
	h.t.Helper()
	ctx := context.Background()
	db, err := ledger.Open(ctx, h.ledger)
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	for _, s := range snaps {
		if err := db.SaveQuota(ctx, s); err != nil {
			h.t.Fatal(err)
		}
	}
}

func corpQuota(observed time.Time, fiveH float64, st quota.Status) quota.Snapshot {
	return quota.Snapshot{Provider: "corp", Status: st, Binding: "5h", Source: quota.FromHeaders, ObservedAt: observed,
		Windows: []quota.Window{
			{Name: "5h", UsedPercent: fiveH, ResetsAt: quotaT0.Add(70 * time.Minute), WindowMinutes: 300, Status: st, Source: quota.FromHeaders, ObservedAt: observed},
			{Name: "7d", UsedPercent: 18, ResetsAt: quotaT0.Add(76 * time.Hour), WindowMinutes: 10080, Status: quota.Allowed, Source: quota.FromHeaders, ObservedAt: observed},
		}}
}

func TestQuotaJSON(t *testing.T) {
	h := newHarness(t, clockwork.NewFakeClockAt(quotaT0))
	h.seedQuota(corpQuota(quotaT0.Add(-2*time.Minute), 42, quota.Allowed))
	if code := h.run(testContext(t), "quota", "--json"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.errOut)
	}
	var got []struct {
		Provider   string    `json:"provider"`
		Account    *string   `json:"account"`
		Status     string    `json:"status"`
		Binding    string    `json:"binding"`
		Source     string    `json:"source"`
		ObservedAt time.Time `json:"observed_at"`
		Windows    []struct {
			Name          string    `json:"name"`
			UsedPercent   float64   `json:"used_percent"`
			ResetsAt      time.Time `json:"resets_at"`
			WindowMinutes int       `json:"window_minutes"`
			Status        string    `json:"status"`
		} `json:"windows"`
	}
	if err := json.Unmarshal([]byte(h.out.String()), &got); err != nil {
		t.Fatalf("%v: %s", err, h.out)
	}
	if len(got) != 1 {
		t.Fatalf("got %d snapshots: %s", len(got), h.out)
	}
	s := got[0]
	if s.Provider != "corp" || s.Account == nil || s.Status != "allowed" || s.Binding != "5h" || s.Source != "headers" || !s.ObservedAt.Equal(quotaT0.Add(-2*time.Minute)) {
		t.Errorf("snapshot = %+v", s)
	}
	if len(s.Windows) != 2 || s.Windows[0].Name != "5h" || s.Windows[0].UsedPercent != 42 || !s.Windows[0].ResetsAt.Equal(quotaT0.Add(70*time.Minute)) ||
		s.Windows[0].WindowMinutes != 300 || s.Windows[0].Status != "allowed" || s.Windows[1].Name != "7d" {
		t.Errorf("windows = %+v", s.Windows)
	}
	if !strings.Contains(h.out.String(), `"resets_at": "2026-12-01T21:10:00Z"`) {
		t.Errorf("times are not RFC 3339 UTC: %s", h.out)
	}
}

func TestQuotaHuman(t *testing.T) {
	h := newHarness(t, clockwork.NewFakeClockAt(quotaT0))
	h.seedQuota(corpQuota(quotaT0.Add(-2*time.Minute), 84, quota.Warning))
	if code := h.run(testContext(t), "quota", "corp"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.errOut)
	}
	out := h.out.String()
	for _, want := range []string{
		"corp  warning  (from response headers, 2m ago)",
		" * 5h  [█████████████████░░░]   84%  resets in 1h10m  warning",
		"   7d  [████░░░░░░░░░░░░░░░░]   18%  resets in 3d4h",
		"at this pace the 5h window runs out in 43m; it resets in 1h10m",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestQuotaExitCodes(t *testing.T) {
	tests := []struct {
		name string
		seed []quota.Snapshot
		args []string
		code int
		out  string
		err  string
	}{
		{"rejected exits 1", []quota.Snapshot{corpQuota(quotaT0, 100, quota.Rejected)}, []string{"quota"}, 1, "REJECTED", ""},
		{"rejected JSON still prints", []quota.Snapshot{corpQuota(quotaT0, 100, quota.Rejected)}, []string{"quota", "--json"}, 1, `"status": "rejected"`, ""},
		{"nothing observed: empty array", nil, []string{"quota", "--json"}, 0, "[]", ""},
		{"nothing observed: says what to do", nil, []string{"quota", "corp"}, 0, "", "no quota observed for corp yet"},
		{"unknown provider", nil, []string{"quota", "nosuch"}, 2, "", "nosuch"},
		{"a reset window no longer rejects", []quota.Snapshot{func() quota.Snapshot {
			s := corpQuota(quotaT0.Add(-6*time.Hour), 100, quota.Rejected)
			s.Windows[0].ResetsAt = quotaT0.Add(-time.Hour)
			return s
		}()}, []string{"quota"}, 0, "reset", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, clockwork.NewFakeClockAt(quotaT0))
			h.seedQuota(tc.seed...)
			if code := h.run(testContext(t), tc.args...); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, h.errOut)
			}
			if !strings.Contains(h.out.String(), tc.out) || !strings.Contains(h.errOut.String(), tc.err) {
				t.Errorf("stdout %q stderr %q; want %q and %q", h.out, h.errOut, tc.out, tc.err)
			}
		})
	}
}

func TestQuotaUnreadableLedger(t *testing.T) {
	h := newHarness(t, clockwork.NewFakeClockAt(quotaT0))
	if err := os.MkdirAll(h.ledger, 0o700); err != nil { // a folder where the file should be
		t.Fatal(err)
	}
	if code := h.run(testContext(t), "quota"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(h.errOut.String(), "usage ledger") {
		t.Errorf("stderr %q does not name the ledger", h.errOut)
	}
}

func TestStatusline(t *testing.T) {
	tests := []struct {
		name string
		seed []quota.Snapshot
		args []string
		want string
	}{
		{"one provider", []quota.Snapshot{corpQuota(quotaT0, 42, quota.Allowed)}, []string{"statusline"}, "corp 5h 42% ↻1h10m · 7d 18%\n"},
		{"named", []quota.Snapshot{corpQuota(quotaT0, 42, quota.Allowed)}, []string{"statusline", "corp"}, "corp 5h 42% ↻1h10m · 7d 18%\n"},
		{"rejected is marked", []quota.Snapshot{corpQuota(quotaT0, 100, quota.Rejected)}, []string{"statusline"}, "corp 5h 100%! ↻1h10m · 7d 18%\n"},
		{"binding first", []quota.Snapshot{func() quota.Snapshot {
			s := corpQuota(quotaT0, 42, quota.Allowed)
			s.Binding = "7d"
			return s
		}()}, []string{"statusline"}, "corp 7d 18% ↻3d4h · 5h 42%\n"},
		{"nothing yet", nil, []string{"statusline"}, "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, clockwork.NewFakeClockAt(quotaT0))
			h.seedQuota(tc.seed...)
			if code := h.run(testContext(t), tc.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, h.errOut)
			}
			if got := h.out.String(); got != tc.want {
				t.Errorf("statusline = %q, want %q", got, tc.want)
			}
		})
	}
}
