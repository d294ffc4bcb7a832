package ledger

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// fill writes n records spread over the 30 days before t0, in the mix a
// busy user makes: four providers, a dozen models, streams and errors.
func fill(tb testing.TB, d *DB, n int) {
	tb.Helper()
	models := []string{"claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001", "gpt-5-codex", "gpt-5",
		"gpt-4.1", "gpt-4.1-mini", "o4-mini", "gemini-2.5-pro", "gemini-2.5-flash", "claude-3-7-sonnet-20250219", "gpt-4o"}
	providers := []string{"claude", "codex", "copilot", "gemini"}
	paths := []string{"/claude/v1/messages", "/codex/responses", "/copilot/chat/completions", "/gemini/v1internal:streamGenerateContent"}
	batch := make([]Record, 0, 1000)
	ctx := context.Background()
	for i := range n {
		p := i % len(providers)
		r := Record{
			Time: t0.Add(-time.Duration(i) * (30 * 24 * time.Hour / time.Duration(n))), Provider: providers[p],
			Method: "POST", Path: paths[p], Model: models[(i*7)%len(models)], Status: 200,
			Duration: time.Duration(800+i%5000) * time.Millisecond, TTFB: time.Duration(200+i%700) * time.Millisecond,
			BytesIn: int64(20000 + i%90000), BytesOut: int64(1500 + i%30000), UsageSeen: true,
			Tokens: usage.Tokens{Input: int64(3 + i%4000), Output: int64(50 + i%2000), CacheRead: int64(i % 60000), CacheCreation: int64(i % 3000)},
		}
		if i%50 == 0 {
			r.Status, r.ErrorKind = 429, "upstream"
		}
		batch = append(batch, r)
		if len(batch) == cap(batch) || i == n-1 {
			if err := d.Insert(ctx, batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// TestHundredThousandRequestsStayUnder30MB: a busy month of records keeps
// the file small (the figure is logged for the notes).
func TestHundredThousandRequestsStayUnder30MB(t *testing.T) {
	d := openTemp(t)
	fill(t, d, 100000)
	if _, err := d.sql.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, p := range []string{d.Path(), d.Path() + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			size += fi.Size()
		}
	}
	t.Logf("100 000 records: %.1f MB", float64(size)/1e6)
	if size >= 30e6 {
		t.Errorf("100 000 records take %d bytes, over the 30 MB budget", size)
	}
	rows, err := d.Summary(context.Background(), t0.Add(-30*24*time.Hour), ByModel)
	if err != nil || len(rows) != 12 {
		t.Fatalf("Summary by model: %d rows, %v", len(rows), err)
	}
	var n int64
	for _, r := range rows {
		n += r.Requests
	}
	if n != 100000 {
		t.Errorf("%d requests summed, want 100000", n)
	}
}

// BenchmarkSummary100k is `usage --since 30d --by model` over a busy month.
func BenchmarkSummary100k(b *testing.B) {
	path := filepath.Join(b.TempDir(), FileName)
	d, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	fill(b, d, 100000)
	for _, by := range Groups {
		b.Run(fmt.Sprintf("by=%s", by), func(b *testing.B) {
			for b.Loop() {
				if _, err := d.Summary(context.Background(), t0.Add(-30*24*time.Hour), by); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInsert is the writer's cost per record, in batches of 256 and
// of one (a quiet proxy's batch).
func BenchmarkInsert(b *testing.B) {
	for _, n := range []int{1, 256} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			d, err := Open(context.Background(), filepath.Join(b.TempDir(), FileName))
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			batch := make([]Record, n)
			for i := range batch {
				batch[i] = rec(t0, "claude", "claude-sonnet-4-5", 200, usage.Tokens{Input: 10, Output: 20})
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Insert(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}
