package ledger

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	_ "time/tzdata" // the zone TestDayNamesFollowTheCalendar walks, on any machine

	"github.com/adrg/xdg"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "state", FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestOpenMakesAPrivateWALFile(t *testing.T) {
	old := syscall.Umask(0) // the most permissive: every mode comes from Open
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "ccproxy-tui")
	path := filepath.Join(dir, FileName)
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.SaveQuota(context.Background(), sampleSnapshot()); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("folder mode %o, want 700", m)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if m := mode(t, p); m != 0o600 {
			t.Errorf("%s mode %o, want 600", filepath.Base(p), m)
		}
	}
	var journal string
	var busy int
	if err := d.sql.QueryRow("PRAGMA journal_mode").Scan(&journal); err != nil {
		t.Fatal(err)
	}
	if err := d.sql.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if journal != "wal" || time.Duration(busy)*time.Millisecond != BusyTimeout {
		t.Errorf("journal_mode %q busy_timeout %dms, want wal and %v", journal, busy, BusyTimeout)
	}
}

func TestOpenTightensAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if m := mode(t, path); m != 0o600 {
		t.Errorf("mode %o, want 600", m)
	}
}

func TestOpenRefusesASymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.db")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("Open through a symlink: %v, want a refusal naming the symlink", err)
	}
}

func TestOpenRefusesAFileThatIsNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	garbage := []byte(strings.Repeat("not a database, ", 512))
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of garbage: %v, want an error naming the file", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(garbage) {
		t.Error("Open rewrote a file that is not a database")
	}
}

func TestDefaultPathIsUnderTheStateHome(t *testing.T) {
	state := t.TempDir()
	t.Cleanup(xdg.Reload) // registered first, so it runs after the env is restored
	t.Setenv("XDG_STATE_HOME", state)
	xdg.Reload()
	if got, want := DefaultPath(), filepath.Join(state, "ccproxy-tui", "usage.db"); got != want {
		t.Errorf("DefaultPath() = %q, want %q", got, want)
	}
}

func TestOpenMemoryKeepsRecordsAcrossCalls(t *testing.T) {
	ctx := context.Background()
	d, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w := NewWriter(d, WriterOptions{})
	for range 10 {
		w.Add(Record{Time: time.Now(), Provider: "claude-demo", Status: 200})
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := d.Recent(ctx, time.Time{}, 100)
	if err != nil || len(got) != 10 {
		t.Errorf("Recent = %d records, %v; want 10", len(got), err)
	}
}

// A batch names each record's day as the time zone has it, across
// midnight and across the days clocks change (23 and 25 hours long).
func TestDayNamesFollowTheCalendar(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York") // time/tzdata: never missing
	if err != nil {
		t.Fatal(err)
	}
	d := dayNames{loc: ny}
	for _, tc := range []struct{ at, want string }{
		{"2026-03-07T23:59:59-05:00", "2026-03-07"},
		{"2026-03-08T00:00:00-05:00", "2026-03-08"}, // 23 hours long
		{"2026-03-08T23:59:59-04:00", "2026-03-08"},
		{"2026-03-09T00:00:00-04:00", "2026-03-09"},
		{"2026-03-08T12:00:00-04:00", "2026-03-08"}, // back to an earlier day
		{"2026-11-01T00:30:00-04:00", "2026-11-01"}, // 25 hours long
		{"2026-11-01T23:59:59-05:00", "2026-11-01"},
		{"2026-11-02T00:00:00-05:00", "2026-11-02"},
		{"2026-11-02T04:59:59Z", "2026-11-01"}, // the same instant in UTC
	} {
		at, err := time.Parse(time.RFC3339, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.of(at); got != tc.want {
			t.Errorf("%s: day %s, want %s", tc.at, got, tc.want)
		}
	}
}
