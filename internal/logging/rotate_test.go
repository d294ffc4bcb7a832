package logging

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLogRotatesAtItsCap(t *testing.T) {
	dir := t.TempDir()
	w, path, err := OpenFileIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 1<<20-1)
	chunk = append(chunk, '\n')
	for range MaxSizeMB + 2 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > MaxSizeMB<<20 {
		t.Errorf("the log grew to %d bytes past its cap of %d MB", info.Size(), MaxSizeMB)
	}
	entries, _ := os.ReadDir(dir)
	var rotated int
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", e.Name(), fi.Mode().Perm())
		}
		if e.Name() != FileName && strings.HasPrefix(e.Name(), "ccproxy-tui-") {
			rotated++
		}
	}
	if rotated != 1 {
		t.Errorf("%d rotated files in %v, want 1", rotated, entries)
	}
}

func TestTallySummarises(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, Options{})
	var tally Tally
	tally.Flush(context.Background(), log, time.Minute)
	if buf.Len() != 0 {
		t.Fatalf("an empty minute wrote %q", buf.String())
	}
	tally.Add("claude", 200, 100)
	tally.Add("claude", 503, 10)
	tally.Add("codex", 200, 5)
	tally.Add("codex", 499, 0) // a client that left counts, as in the ledger
	tally.Flush(context.Background(), log, time.Minute)
	line := buf.String()
	for _, want := range []string{"level=INFO", "msg=requests", "requests=4", "errors=2", "bytes=115", `providers="claude=2 codex=2"`} {
		if !strings.Contains(line, want) {
			t.Errorf("summary %q lacks %s", line, want)
		}
	}
	buf.Reset()
	tally.Flush(context.Background(), log, time.Minute)
	if buf.Len() != 0 {
		t.Errorf("counts were not reset: %q", buf.String())
	}
}
