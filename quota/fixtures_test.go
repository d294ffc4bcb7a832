package quota

import (
	"bufio"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixtureNow is the moment every fixture in testdata/quota is read at.
var fixtureNow = time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)

const fixtureDir = "../testdata/quota"

// parseHeaderBlock reads "Name: value" lines as a response's headers.
func parseHeaderBlock(s string) (http.Header, error) {
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimRight(s, "\r\n") + "\r\n\r\n")))
	h, err := r.ReadMIMEHeader()
	return http.Header(h), err
}

func headerFixture(t testing.TB, file string) http.Header {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "headers", file))
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeaderBlock(string(b))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return h
}

func endpointFixture(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "endpoint", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want is the part of a window a test checks.
type want struct {
	name    string
	used    float64
	resets  time.Time
	minutes int
	status  Status
	unknown bool
}

func checkWindows(t *testing.T, s Snapshot, wants []want) {
	t.Helper()
	if len(s.Windows) != len(wants) {
		t.Fatalf("windows = %v, want %d of them", names(s), len(wants))
	}
	for i, w := range wants {
		got := s.Windows[i]
		if got.Name != w.name || !close(got.UsedPercent, w.used) || !got.ResetsAt.Equal(w.resets) ||
			got.WindowMinutes != w.minutes || got.Status != w.status || got.UsageUnknown != w.unknown {
			t.Errorf("window %d = {%s %.2f%% %s %dmin %s unknown=%v}, want {%s %.2f%% %s %dmin %s unknown=%v}", i,
				got.Name, got.UsedPercent, got.ResetsAt.Format(time.RFC3339), got.WindowMinutes, got.Status, got.UsageUnknown,
				w.name, w.used, w.resets.Format(time.RFC3339), w.minutes, w.status, w.unknown)
		}
	}
}

func close(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func names(s Snapshot) []string {
	out := make([]string, len(s.Windows))
	for i, w := range s.Windows {
		out[i] = w.Name
	}
	return out
}

func at(minutes int) time.Time { return fixtureNow.Add(time.Duration(minutes) * time.Minute) }
