package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

var usageNow = time.Date(2026, 12, 1, 18, 0, 0, 0, time.Local)

func seedLedger(t *testing.T, h *harness) {
	t.Helper()
	d, err := ledger.Open(context.Background(), h.factory().LedgerPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	recs := []ledger.Record{
		{Time: usageNow.Add(-40 * 24 * time.Hour), Provider: "claude", Model: "claude-opus-4-1", Status: 200, Tokens: usage.Tokens{Input: 999}},
		{Time: usageNow.Add(-3 * time.Hour), Provider: "claude", Model: "claude-sonnet-4-5", Status: 200, Duration: 2400 * time.Millisecond,
			TTFB: 300 * time.Millisecond, Tokens: usage.Tokens{Input: 1200, Output: 340, CacheRead: 5000, CacheCreation: 60}},
		{Time: usageNow.Add(-2 * time.Hour), Provider: "codex", Account: "work", Model: "gpt-5-codex\x1b[31m", Status: 429, ErrorKind: "upstream",
			Duration: 80 * time.Millisecond, Tokens: usage.Tokens{}},
		{Time: usageNow.Add(-time.Hour), Provider: "codex", Account: "work", Model: "gpt-5-codex", Method: "POST", Path: "/codex/responses",
			Status: 200, Duration: 850 * time.Millisecond, TTFB: 120 * time.Millisecond, Tokens: usage.Tokens{Input: 30, Output: 7, CacheRead: 12}},
	}
	if err := d.Insert(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func TestUsageJSON(t *testing.T) {
	h := newHarness(t, clockwork.NewFakeClockAt(usageNow))
	seedLedger(t, h)
	for _, tc := range []struct {
		name string
		args []string
		want []ledger.Row
	}{
		{"by provider, 24h", []string{"--since", "24h", "--by", "provider"}, []ledger.Row{
			{Provider: "claude", Requests: 1, InputTokens: 1200, OutputTokens: 340, CacheReadTokens: 5000, CacheCreationTokens: 60},
			{Provider: "codex", Requests: 2, Errors: 1, InputTokens: 30, OutputTokens: 7, CacheReadTokens: 12},
		}},
		{"by account, default 30d", []string{"--by", "account"}, []ledger.Row{
			{Account: "default", Requests: 1, InputTokens: 1200, OutputTokens: 340, CacheReadTokens: 5000, CacheCreationTokens: 60},
			{Account: "work", Requests: 2, Errors: 1, InputTokens: 30, OutputTokens: 7, CacheReadTokens: 12},
		}},
		{"by day since a date", []string{"--since", usageNow.AddDate(0, 0, -60).Format(time.DateOnly)}, []ledger.Row{
			{Day: usageNow.Add(-40 * 24 * time.Hour).Format(time.DateOnly), Requests: 1, InputTokens: 999},
			{Day: usageNow.Format(time.DateOnly), Requests: 3, Errors: 1, InputTokens: 1230, OutputTokens: 347, CacheReadTokens: 5012, CacheCreationTokens: 60},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.out.buf.Reset()
			if code := h.run(testContext(t), append([]string{"usage", "--json"}, tc.args...)...); code != 0 {
				t.Fatalf("exit %d: %s", code, h.errOut)
			}
			var got []ledger.Row
			if err := json.Unmarshal([]byte(h.out.String()), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, h.out)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("usage --json %v =\n%+v\nwant\n%+v", tc.args, got, tc.want)
			}
			var raw []map[string]any
			_ = json.Unmarshal([]byte(h.out.String()), &raw)
			keys := []string{"provider", "account", "model", "day", "requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens"}
			for _, k := range keys {
				if _, ok := raw[0][k]; !ok || len(raw[0]) != len(keys) {
					t.Fatalf("row keys %v, want exactly %v", raw[0], keys)
				}
			}
		})
	}
}

func TestUsageTable(t *testing.T) {
	h := newHarness(t, clockwork.NewFakeClockAt(usageNow))
	seedLedger(t, h)
	if code := h.run(testContext(t), "usage", "--by", "model", "--since", "7d"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.errOut)
	}
	out := h.out.String()
	for _, want := range []string{"MODEL", "REQUESTS", "CACHE READ", "claude-sonnet-4-5", "1,200", "5,000", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "claude-opus-4-1") {
		t.Errorf("table shows a raw escape or a record older than --since:\n%q", out)
	}

	h.out.buf.Reset()
	if code := h.run(testContext(t), "usage", "--requests", "--limit", "2"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.errOut)
	}
	lines := strings.Split(strings.TrimSpace(h.out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "gpt-5-codex") || !strings.Contains(lines[1], "850ms") ||
		!strings.Contains(lines[2], "429 upstream") || strings.Contains(h.out.String(), "\x1b") {
		t.Errorf("usage --requests --limit 2:\n%s", h.out)
	}
}

func TestUsageRequestsJSON(t *testing.T) {
	h := newHarness(t, clockwork.NewFakeClockAt(usageNow))
	seedLedger(t, h)
	if code := h.run(testContext(t), "usage", "--requests", "--json", "--limit", "1"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.errOut)
	}
	var got []RequestRow
	if err := json.Unmarshal([]byte(h.out.String()), &got); err != nil {
		t.Fatal(err)
	}
	want := RequestRow{ID: 4, Time: usageNow.Add(-time.Hour).UTC(), Provider: "codex", Account: "work", Method: "POST",
		Path: "/codex/responses", Model: "gpt-5-codex", Status: 200, DurationMS: 850, TTFBMS: 120,
		InputTokens: 30, OutputTokens: 7, CacheReadTokens: 12}
	if len(got) != 1 || got[0] != want {
		t.Errorf("usage --requests --json =\n%+v\nwant\n%+v", got, want)
	}
}

func TestUsageWithoutALedgerCreatesNone(t *testing.T) {
	h := newHarness(t, nil)
	if code := h.run(testContext(t), "usage", "--json"); code != 0 || strings.TrimSpace(h.out.String()) != "[]" {
		t.Fatalf("exit %d, stdout %q", code, h.out)
	}
	if code := h.run(testContext(t), "usage"); code != 0 || !strings.Contains(h.errOut.String(), "No usage recorded yet") {
		t.Fatalf("exit %d, stderr %q", code, h.errOut)
	}
	if _, err := os.Stat(filepath.Dir(h.factory().LedgerPath)); !os.IsNotExist(err) {
		t.Errorf("usage created the state folder: %v", err)
	}
}

func TestUsageFlags(t *testing.T) {
	h := newHarness(t, nil)
	for _, argv := range [][]string{
		{"usage", "--by", "path"},
		{"usage", "--since", "last tuesday"},
		{"usage", "--requests", "--by", "model"},
		{"usage", "--limit", "5"},
		{"usage", "--requests", "--limit", "0"},
	} {
		if code := h.run(testContext(t), argv...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage error)", argv, code)
		}
	}
}

func TestSinceTime(t *testing.T) {
	now := time.Date(2026, 12, 1, 18, 30, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"7d":                   now.AddDate(0, 0, -7),
		"30d":                  now.AddDate(0, 0, -30),
		"90m":                  now.Add(-90 * time.Minute),
		"2026-11-01":           time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T12:00:00Z": time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
	} {
		got, err := sinceTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("sinceTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-3d", "2026-13-40"} {
		if _, err := sinceTime(bad, now); err == nil {
			t.Errorf("sinceTime(%q) accepted", bad)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
