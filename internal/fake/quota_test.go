package fake

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

func TestUpstreamQuotaFillsAndResets(t *testing.T) {
	start := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(start)
	up := NewUpstream(UpstreamOptions{Clock: clock, Quota: map[string]QuotaPlan{
		"/claude":  {Family: QuotaAnthropic, Used: 40, PerRequest: 25},
		"/codex":   {Family: QuotaCodex, Used: 90, PerRequest: 5},
		"/copilot": {Family: QuotaCopilot, Used: 10, PerRequest: 1},
	}})
	call := func(path string) (int, quota.Snapshot) {
		rec := httptest.NewRecorder()
		up.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://up"+path, strings.NewReader(`{}`)))
		s, _ := quota.ReadHeaders(rec.Header(), clock.Now())
		return rec.Code, s
	}
	used := func(s quota.Snapshot, name string) float64 {
		w, ok := s.Window(name)
		if !ok {
			t.Fatalf("no %s window in %+v", name, s)
		}
		return w.UsedPercent
	}

	code, s := call("/claude/v1/messages")
	if code != 200 || used(s, "5h") != 65 || used(s, "7d") < 15.8 || s.Binding != "5h" {
		t.Fatalf("first claude answer: %d %+v", code, s)
	}
	_, _ = call("/claude/v1/messages")
	code, s = call("/claude/v1/messages") // 65 → 90 → 100
	if code != 200 || used(s, "5h") != 100 || s.Status != quota.Rejected {
		t.Fatalf("third claude answer: %d %+v", code, s)
	}
	code, s = call("/claude/v1/messages")
	if code != http.StatusTooManyRequests || s.Status != quota.Rejected {
		t.Fatalf("over the limit: %d %+v", code, s)
	}
	clock.Advance(3*time.Hour + 10*time.Minute)
	code, s = call("/claude/v1/messages")
	w5, _ := s.Window("5h")
	if code != 200 || w5.UsedPercent != 25 || !w5.ResetsAt.Equal(start.Add(8*time.Hour+10*time.Minute)) {
		t.Fatalf("after the reset: %d %+v", code, w5)
	}

	code, s = call("/codex/responses")
	if code != 200 || used(s, "primary") != 95 || s.Status != quota.Warning {
		t.Fatalf("codex: %d %+v", code, s)
	}
	code, s = call("/copilot/chat/completions")
	if w, _ := s.Window("premium_interactions"); code != 200 || w.UsedPercent != 11 || !w.ResetsAt.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("copilot: %d %+v", code, w)
	}
	if _, ok := s.Window("chat"); ok {
		t.Error("the unlimited chat quota shows as a window")
	}
	if code, s := call("/other/v1/messages"); code != 200 || len(s.Windows) != 0 {
		t.Errorf("a path without a plan got quota headers: %+v", s)
	}
}
