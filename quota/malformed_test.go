package quota

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// Every recorded header set parses whole; a value the parsers skip is
// named, and nothing else is.
func TestMalformedNamesWhatIsSkipped(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "headers", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no recorded header sets")
	}
	for _, path := range files {
		file := filepath.Base(path)
		bad := Malformed(headerFixture(t, file))
		if file == "malformed.txt" {
			if len(bad) == 0 {
				t.Errorf("%s: nothing reported malformed", file)
			}
			continue
		}
		if len(bad) != 0 {
			t.Errorf("%s: %q reported malformed", file, bad)
		}
	}
	h := http.Header{
		"Anthropic-Ratelimit-Unified-5h-Utilization":       {"lots"},
		"Anthropic-Ratelimit-Unified-7d-Utilization":       {"0.25"},
		"Anthropic-Ratelimit-Unified-5h-Reset":             {"tomorrow"},
		"Anthropic-Ratelimit-Unified-Status":               {"maybe"},
		"Anthropic-Ratelimit-Unified-Representative-Claim": {"five_hour"},
		"X-Codex-Primary-Used-Percent":                     {"NaN"},
		"X-Codex-Primary-Window-Minutes":                   {"300"},
		"X-Quota-Snapshot-Chat":                            {"ent=0&rem=" + strings.Repeat("9", 60) + "x"},
		"X-Request-Id":                                     {"not a number, and no quota header"},
	}
	want := []string{
		"anthropic-ratelimit-unified-5h-reset=tomorrow",
		"anthropic-ratelimit-unified-5h-utilization=lots",
		"anthropic-ratelimit-unified-status=maybe",
		"x-codex-primary-used-percent=NaN",
		"x-quota-snapshot-chat=ent=0&rem=" + strings.Repeat("9", 30) + "…",
	}
	if got := Malformed(h); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Malformed =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
