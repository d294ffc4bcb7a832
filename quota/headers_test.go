package quota

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadHeadersFixtures(t *testing.T) {
	endOfMonth := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	const month = 30 * 24 * 60 // November has 30 days
	tests := []struct {
		file    string
		status  Status
		binding string
		windows []want
	}{
		{"anthropic_max.txt", Allowed, "5h", []want{
			{"5h", 42, at(70), 300, Allowed, false},
			{"7d", 18, at(4560), 10080, Allowed, false},
			{"7d_sonnet", 6, at(4560), 10080, Allowed, false},
		}},
		{"anthropic_7d_warning.txt", Warning, "7d", []want{
			{"5h", 31, at(150), 300, Allowed, false},
			{"7d", 91, at(4560), 10080, Warning, false},
			{"7d_opus", 77, at(4560), 10080, Warning, false},
		}},
		{"anthropic_429_rejected.txt", Rejected, "5h", []want{
			{"5h", 100, at(70), 300, Rejected, false},
			{"7d", 64, at(4560), 10080, Allowed, false},
			{"overage", 100, time.Time{}, 0, Rejected, false},
		}},
		// September 2025: no utilization at all, only the claim.
		{"anthropic_2025_09_no_utilization.txt", Allowed, "5h", []want{
			{"5h", 0, at(70), 300, Allowed, true},
		}},
		{"codex_responses.txt", Allowed, "primary", []want{
			{"primary", 42, at(70), 300, Allowed, false},
			{"secondary", 18, at(4560), 10080, Allowed, false},
		}},
		{"codex_reset_after.txt", Warning, "primary", []want{
			{"primary", 77.5, at(70), 300, Warning, false},
			{"secondary", 20, at(4560), 10080, Allowed, false},
		}},
		{"codex_families.txt", Warning, "bengalfox_primary", []want{
			{"primary", 12, at(150), 300, Allowed, false},
			{"secondary", 9, at(7200), 10080, Allowed, false},
			{"bengalfox_primary", 96, at(70), 300, Warning, false},
		}},
		// chat and completions are unlimited: nothing to meter.
		{"copilot_chat.txt", Allowed, "premium_interactions", []want{
			{"premium_interactions", 100 - 88.7, endOfMonth, month, Allowed, false},
		}},
		{"copilot_exhausted.txt", Rejected, "premium_interactions", []want{
			{"chat", 87.5, endOfMonth, month, Warning, false},
			{"premium_interactions", 100, endOfMonth, month, Rejected, false},
		}},
		{"malformed.txt", Allowed, "secondary", []want{
			{"secondary", 12, time.Time{}, 0, Allowed, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s, ok := ReadHeaders(headerFixture(t, tc.file), fixtureNow)
			if !ok {
				t.Fatal("no quota read")
			}
			checkWindows(t, s, tc.windows)
			if s.Status != tc.status || s.Binding != tc.binding {
				t.Errorf("status, binding = %s, %q; want %s, %q", s.Status, s.Binding, tc.status, tc.binding)
			}
			if s.Source != FromHeaders || !s.ObservedAt.Equal(fixtureNow) {
				t.Errorf("source, observed = %s, %s", s.Source, s.ObservedAt)
			}
			for _, w := range s.Windows {
				if w.Source != FromHeaders || !w.ObservedAt.Equal(fixtureNow) {
					t.Errorf("window %s: source, observed = %s, %s", w.Name, w.Source, w.ObservedAt)
				}
			}
		})
	}
}

func TestReadHeadersNone(t *testing.T) {
	for _, h := range []http.Header{nil, {}, headerFixture(t, "plain_openai.txt")} {
		if s, ok := ReadHeaders(h, fixtureNow); ok {
			t.Errorf("ReadHeaders(%v) = %+v, want nothing", h, s)
		}
	}
}

// A gateway (or HTTP/2 without canonicalisation) may hand over names in
// any case; they mean the same.
func TestReadHeadersAnyCase(t *testing.T) {
	h := http.Header{
		"anthropic-ratelimit-unified-5h-utilization": {"0.5"},
		"X-CODEX-PRIMARY-USED-PERCENT":               {"30"},
		"x-codex-primary-window-minutes":             {"300"},
		"X-Quota-Snapshot-Premium_Interactions":      {"ent=300&rem=40&rst=2026-12-31T00:00:00Z"},
	}
	s, ok := ReadHeaders(h, fixtureNow)
	if !ok {
		t.Fatal("nothing read")
	}
	got := strings.Join(names(s), ",")
	if got != "5h,primary,premium_interactions" {
		t.Fatalf("windows = %s", got)
	}
	if w, _ := s.Window("premium_interactions"); w.UsedPercent != 60 {
		t.Errorf("premium used = %v, want 60 (100 - remaining)", w.UsedPercent)
	}
}

// An empty or all-zero Codex window (a family the plan does not have)
// says nothing and is left out, as the Codex CLI does.
func TestReadHeadersCodexEmptyWindow(t *testing.T) {
	h := http.Header{"X-Codex-Primary-Used-Percent": {"0"}, "X-Codex-Secondary-Used-Percent": {"0"}}
	if s, ok := ReadHeaders(h, fixtureNow); ok {
		t.Errorf("read %v from all-zero windows", names(s))
	}
}

// A family id too long for a window name is cut to fit, and two ids that
// then read alike keep one family, the first by name.
func TestReadHeadersCodexLongFamilies(t *testing.T) {
	long := strings.Repeat("f", 40)
	h := http.Header{
		"X-" + long + "a-Primary-Used-Percent": {"10"},
		"X-" + long + "b-Primary-Used-Percent": {"20"},
	}
	s, ok := ReadHeaders(h, fixtureNow)
	if !ok {
		t.Fatal("nothing read")
	}
	checkInvariants(t, s)
	if len(s.Windows) != 1 || s.Windows[0].UsedPercent != 10 {
		t.Fatalf("windows %v, want the first family's primary alone", s.Windows)
	}
	if n := s.Windows[0].Name; n != strings.Repeat("f", 30)+"_primary" {
		t.Errorf("window name %q", n)
	}
}

func TestReadHeadersAllocs(t *testing.T) {
	h := headerFixture(t, "plain_openai.txt")
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := ReadHeaders(h, fixtureNow); ok {
			t.Fatal("read quota from a plain response")
		}
	})
	if allocs != 0 {
		t.Errorf("ReadHeaders on a response without quota headers allocates %v times, want 0", allocs)
	}
}

func BenchmarkReadHeaders(b *testing.B) {
	for _, file := range []string{"plain_openai.txt", "anthropic_max.txt", "codex_responses.txt", "copilot_chat.txt"} {
		h := headerFixture(b, file)
		b.Run(strings.TrimSuffix(file, ".txt"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ReadHeaders(h, fixtureNow)
			}
		})
	}
}

// FuzzReadHeaders feeds header blocks, seeded with every recorded set, and
// checks what any answer must keep: percentages within 0–100, known
// statuses, unique safe names, a binding that names a window.
func FuzzReadHeaders(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "headers", "*.txt"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, block string) {
		h, err := parseHeaderBlock(block)
		if err != nil {
			return
		}
		for _, b := range Malformed(h) {
			if !strings.Contains(b, "=") {
				t.Errorf("malformed entry %q is not name=value", b)
			}
		}
		s, ok := ReadHeaders(h, fixtureNow)
		if !ok {
			return
		}
		checkInvariants(t, s)
	})
}

func checkInvariants(t *testing.T, s Snapshot) {
	t.Helper()
	seen := map[string]bool{}
	for _, w := range s.Windows {
		if w.UsedPercent < 0 || w.UsedPercent > 100 || w.UsedPercent != w.UsedPercent {
			t.Errorf("window %q used %v outside 0–100", w.Name, w.UsedPercent)
		}
		if w.Status != Allowed && w.Status != Warning && w.Status != Rejected {
			t.Errorf("window %q status %q", w.Name, w.Status)
		}
		if w.Name == "" || seen[w.Name] || name(w.Name) != w.Name {
			t.Errorf("window name %q empty, repeated or unsafe", w.Name)
		}
		seen[w.Name] = true
		if w.WindowMinutes < 0 {
			t.Errorf("window %q minutes %d", w.Name, w.WindowMinutes)
		}
	}
	if s.Binding != "" && !seen[s.Binding] {
		t.Errorf("binding %q names no window", s.Binding)
	}
	if s.Status != Allowed && s.Status != Warning && s.Status != Rejected {
		t.Errorf("status %q", s.Status)
	}
}

// A reset some gateway rewrote as ISO 8601 still reads.
func TestReadHeadersISOReset(t *testing.T) {
	h := http.Header{
		"Anthropic-Ratelimit-Unified-5h-Utilization": {"0.5"},
		"Anthropic-Ratelimit-Unified-5h-Reset":       {"2026-12-01T21:10:00Z"},
		"X-Codex-Primary-Used-Percent":               {"10"},
		"X-Codex-Primary-Reset-At":                   {"2026-12-01T21:10:00+00:00"},
	}
	s, _ := ReadHeaders(h, fixtureNow)
	for _, name := range []string{"5h", "primary"} {
		if w, _ := s.Window(name); !w.ResetsAt.Equal(at(70)) {
			t.Errorf("%s resets %s, want %s", name, w.ResetsAt, at(70))
		}
	}
}

// A utilization that is there but garbled says nothing of its window: the
// window is left out of the reading, and merged onto the last one the good
// percentage stands (not "unknown", not 0).
func TestReadHeadersGarbledUtilizationKeepsTheLastValue(t *testing.T) {
	good := http.Header{
		"Anthropic-Ratelimit-Unified-5h-Utilization": {"0.37"},
		"Anthropic-Ratelimit-Unified-5h-Reset":       {"1796171279"},
		"Anthropic-Ratelimit-Unified-7d-Utilization": {"0.6"},
	}
	garbled := good.Clone()
	garbled.Set("Anthropic-Ratelimit-Unified-5h-Utilization", "forty-two%")
	garbled.Set("Anthropic-Ratelimit-Unified-7d-Utilization", "0.61")
	first, ok := ReadHeaders(good, fixtureNow)
	if !ok {
		t.Fatal("nothing read from the good headers")
	}
	second, ok := ReadHeaders(garbled, fixtureNow.Add(time.Minute))
	if !ok {
		t.Fatal("the good 7d window of the garbled headers was not read")
	}
	if _, has := second.Window("5h"); has {
		t.Errorf("a garbled 5h utilization made a window: %+v", second.Windows)
	}
	merged := first.Merge(second)
	w5, _ := merged.Window("5h")
	w7, _ := merged.Window("7d")
	if w5.UsedPercent != 37 || w5.UsageUnknown || w7.UsedPercent != 61 {
		t.Errorf("merged 5h %v (unknown %v), 7d %v; want 37, known, and 61", w5.UsedPercent, w5.UsageUnknown, w7.UsedPercent)
	}
}

// A per-model family too long for a window name is cut to fit, alike in
// the window and in the claim that binds it; a Codex family the cut of
// "codex_" leaves starting with an underscore loses it.
func TestLongAndOddFamilyNamesFit(t *testing.T) {
	long := strings.Repeat("opus", 12)
	h := http.Header{}
	h.Set("Anthropic-Ratelimit-Unified-7d_"+long+"-Utilization", "0.5")
	h.Set("Anthropic-Ratelimit-Unified-7d_"+long+"-Reset", "1796169600")
	h.Set("Anthropic-Ratelimit-Unified-Representative-Claim", "seven_day_"+long)
	h.Set("X-Codex--0-Primary-Used-Percent", "12")
	s, ok := ReadHeaders(h, fixtureNow)
	if !ok {
		t.Fatal("no quota read")
	}
	checkInvariants(t, s)
	want := ("7d_" + long)[:maxName]
	names := map[string]bool{}
	for _, w := range s.Windows {
		names[w.Name] = true
	}
	if !names[want] || s.Binding != want {
		t.Errorf("windows %v, binding %q; want %q bound", names, s.Binding, want)
	}
	if !names["0_primary"] {
		t.Errorf("windows %v, want 0_primary", names)
	}
}
