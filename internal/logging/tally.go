package logging

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// SummaryEvery is how often a Tally writes its summary line.
const SummaryEvery = time.Minute

// Tally counts proxied requests between two summary lines, so the log at
// info level grows with time, not with traffic: each request is worth a
// debug line, a minute of them one info line.
type Tally struct {
	mu       sync.Mutex // guards the counts
	requests int
	errors   int
	bytes    int64
	byName   map[string]int
}

// Add counts one finished request; a status of 400 or more (a client that
// left is 499), or 0 (no answer), counts as an error, as the proxy's own
// counters and the usage ledger count them.
func (t *Tally) Add(provider string, status int, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byName == nil {
		t.byName = map[string]int{}
	}
	t.requests++
	t.bytes += bytes
	t.byName[provider]++
	if status >= 400 || status == 0 {
		t.errors++
	}
}

// Flush writes the summary of the requests since the last Flush at info
// level, and nothing when there were none.
func (t *Tally) Flush(ctx context.Context, log *slog.Logger, since time.Duration) {
	t.mu.Lock()
	n, errs, bytes, by := t.requests, t.errors, t.bytes, t.byName
	t.requests, t.errors, t.bytes, t.byName = 0, 0, 0, nil
	t.mu.Unlock()
	if n == 0 {
		return
	}
	names := make([]string, 0, len(by))
	for name := range by {
		names = append(names, name)
	}
	slices.Sort(names)
	var parts []string
	for _, name := range names {
		parts = append(parts, name+"="+itoa(by[name]))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "requests", slog.Int("requests", n), slog.Int("errors", errs),
		slog.Int64("bytes", bytes), slog.String("providers", strings.Join(parts, " ")),
		slog.String("period", since.String()))
}

func itoa(n int) string { return slog.IntValue(n).String() }
