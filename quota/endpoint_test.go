package quota

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseEndpointFixtures(t *testing.T) {
	endOfMonth := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		file    string
		parse   func([]byte, time.Time) (Snapshot, error)
		status  Status
		binding string
		windows []want
	}{
		// The endpoint speaks percent and ISO 8601, unlike the headers.
		{"claude_usage.json", ParseClaudeUsage, Allowed, "5h", []want{
			{"5h", 42, at(70).Add(412893 * time.Microsecond), 300, Allowed, false},
			{"7d", 18, at(4560).Add(412912 * time.Microsecond), 10080, Allowed, false},
			{"7d_opus", 0, time.Time{}, 10080, Allowed, false},
			{"7d_sonnet", 6, at(4560).Add(412921 * time.Microsecond), 10080, Allowed, false},
		}},
		{"claude_usage_limits.json", ParseClaudeUsage, Warning, "7d", []want{
			{"5h", 93, at(70), 300, Warning, false},
			{"overage", 25, time.Time{}, 0, Allowed, false},
			{"7d", 55, at(4560), 10080, Allowed, false},
			{"7d_opus", 20, at(4560), 10080, Allowed, false},
		}},
		{"codex_wham_usage.json", ParseCodexUsage, Warning, "bengalfox_primary", []want{
			{"primary", 42, at(70), 300, Allowed, false},
			{"secondary", 18, at(4560), 10080, Allowed, false},
			{"bengalfox_primary", 96, at(70), 300, Warning, false},
		}},
		// No reset_at: reset_after_seconds counts from the answer.
		{"codex_wham_limit_reached.json", ParseCodexUsage, Rejected, "primary", []want{
			{"primary", 100, at(70), 300, Rejected, false},
			{"secondary", 61, at(4560), 10080, Allowed, false},
		}},
		{"copilot_user.json", ParseCopilotUser, Allowed, "premium_interactions", []want{
			{"premium_interactions", 100 - 88.7, endOfMonth, 30 * 24 * 60, Allowed, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s, err := tc.parse(endpointFixture(t, tc.file), fixtureNow)
			if err != nil {
				t.Fatal(err)
			}
			checkWindows(t, s, tc.windows)
			if s.Status != tc.status || s.Binding != tc.binding || s.Source != FromEndpoint {
				t.Errorf("status, binding, source = %s, %q, %s; want %s, %q, endpoint", s.Status, s.Binding, s.Source, tc.status, tc.binding)
			}
		})
	}
}

func TestParseEndpointBadBodies(t *testing.T) {
	parsers := map[string]func([]byte, time.Time) (Snapshot, error){
		"claude": ParseClaudeUsage, "codex": ParseCodexUsage, "copilot": ParseCopilotUser,
	}
	for pname, parse := range parsers {
		for _, body := range []string{"", "<html>502 Bad Gateway</html>", "[1,2]", `{"error":{"type":"rate_limit_error"}}`, "{}"} {
			_, err := parse([]byte(body), fixtureNow)
			if err == nil {
				t.Errorf("%s(%q): no error", pname, body)
			}
		}
		// A body in the right shape with no windows is ErrNoWindows, so a
		// poller can tell "nothing to show" from "not understood".
		if _, err := parse([]byte("{}"), fixtureNow); !errors.Is(err, ErrNoWindows) {
			t.Errorf("%s({}): %v, want ErrNoWindows", pname, err)
		}
	}
}

func FuzzParseEndpoint(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "endpoint", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, parse := range []func([]byte, time.Time) (Snapshot, error){ParseClaudeUsage, ParseCodexUsage, ParseCopilotUser} {
			if s, err := parse(body, fixtureNow); err == nil {
				checkInvariants(t, s)
			}
		}
	})
}

// ParseUsage recognises each provider's body by its shape.
func TestParseUsageAnyShape(t *testing.T) {
	for file, first := range map[string]string{"claude_usage.json": "5h", "codex_wham_usage.json": "primary", "copilot_user.json": "premium_interactions"} {
		s, err := ParseUsage(endpointFixture(t, file), fixtureNow)
		if err != nil || len(s.Windows) == 0 || s.Windows[0].Name != first {
			t.Errorf("%s: %v, %v", file, names(s), err)
		}
	}
	if _, err := ParseUsage([]byte(`{"something":"else"}`), fixtureNow); !errors.Is(err, ErrNoWindows) {
		t.Errorf("unknown shape: %v", err)
	}
	if _, err := ParseUsage([]byte(`<html>`), fixtureNow); err == nil || errors.Is(err, ErrNoWindows) {
		t.Errorf("not JSON: %v", err)
	}
}
