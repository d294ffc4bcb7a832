package tui

import (
	"context"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// Usage is the usage ledger as the dashboard reads it; *ledger.DB
// satisfies it. Every method may touch the disk: they run in a tea.Cmd.
type Usage interface {
	Recent(ctx context.Context, since time.Time, limit int) ([]ledger.Record, error)
	Summary(ctx context.Context, since time.Time, by ledger.Group) ([]ledger.Row, error)
	Series(ctx context.Context, since time.Time, step time.Duration, n int) (map[string][]ledger.Point, error)
	Get(ctx context.Context, id int64) (ledger.Record, error)
}

// The shape of what the dashboard loads from the ledger.
const (
	recentLimit = 200
	// sparkSteps of sparkStep make the last hour of a sparkline.
	sparkSteps = 12
	sparkStep  = 5 * time.Minute
	// reloadEvery refreshes the requests view while it shows, for the
	// requests another process (a serve) records.
	reloadEvery = 5 * time.Second
	// afterRequest waits for the ledger's writer to have written a
	// request the proxy just finished (it lingers 250 ms).
	afterRequest = 400 * time.Millisecond
)

// usageData is one load of the ledger.
type usageData struct {
	Recent []ledger.Record
	Today  map[string]ledger.Row     // by provider, since local midnight
	Series map[string][]ledger.Point // by provider, the last hour
	Stats  ledger.WriterStats        // what the writer dropped or lost
	Err    error
}

// usageLoadedMsg carries a load back; N is the load's generation.
type usageLoadedMsg struct {
	N    uint64
	Data usageData
}

// requestOpenedMsg carries one request, read whole for the enter key.
type requestOpenedMsg struct {
	Record ledger.Record
	Err    error
}

// loadUsage reads the ledger after delay, on the dashboard's clock.
func loadUsage(ctx context.Context, u Usage, stats func() ledger.WriterStats, clock clockwork.Clock, delay time.Duration, n uint64) tea.Cmd {
	return func() tea.Msg {
		if delay > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-clock.After(delay):
			}
		}
		now := clock.Now()
		var d usageData
		if stats != nil {
			d.Stats = stats()
		}
		var err error
		if d.Recent, err = u.Recent(ctx, time.Time{}, recentLimit); err != nil {
			return usageLoadedMsg{N: n, Data: usageData{Err: err, Stats: d.Stats}}
		}
		y, mo, day := now.Date()
		rows, err := u.Summary(ctx, time.Date(y, mo, day, 0, 0, 0, 0, now.Location()), ledger.ByProvider)
		if err != nil {
			return usageLoadedMsg{N: n, Data: usageData{Err: err, Stats: d.Stats}}
		}
		d.Today = make(map[string]ledger.Row, len(rows))
		for _, r := range rows {
			d.Today[r.Provider] = r
		}
		// Steps end at the next whole step, so the last one is the current one.
		end := now.Truncate(sparkStep).Add(sparkStep)
		if d.Series, err = u.Series(ctx, end.Add(-sparkSteps*sparkStep), sparkStep, sparkSteps); err != nil {
			return usageLoadedMsg{N: n, Data: usageData{Err: err, Stats: d.Stats}}
		}
		return usageLoadedMsg{N: n, Data: d}
	}
}

// openRequest reads one request with what was kept of it.
func openRequest(ctx context.Context, u Usage, id int64) tea.Cmd {
	return func() tea.Msg {
		r, err := u.Get(ctx, id)
		return requestOpenedMsg{Record: r, Err: err}
	}
}

// recordOf is a proxy event as a record, for the requests this dashboard's
// own proxy served when no ledger is there to ask.
func recordOf(ev proxy.Event) ledger.Record {
	return ledger.Record{Time: ev.Time, Provider: ev.Provider, Account: ev.Account, Method: ev.Method, Path: ev.Path,
		Model: ev.Model, Status: ev.Status, Duration: ev.Duration, TTFB: ev.TTFB, BytesIn: ev.BytesIn, BytesOut: ev.Bytes,
		Retried: ev.Retried, ErrorKind: ev.ErrorKind, UsageSeen: ev.UsageSeen, Tokens: ev.Usage}
}

// sparkline draws counts as bars, tallest for the largest; zero is a dot.
func sparkline(counts []int64) string {
	bars := []rune("▁▂▃▄▅▆▇█")
	var top int64
	for _, c := range counts {
		top = max(top, c)
	}
	var b strings.Builder
	for _, c := range counts {
		switch {
		case c <= 0:
			b.WriteRune('·')
		default:
			b.WriteRune(bars[min(int((c*int64(len(bars))-1)/top), len(bars)-1)])
		}
	}
	return b.String()
}

// compact writes a count the way a narrow column can hold it: 950, 12.3k, 4.5M.
func compact(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 1_000_000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + "k"
	case n < 1_000_000_000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(float64(n)/1e9, 'f', 1, 64) + "G"
}

// millis writes a latency: 850ms, 2.4s, 1m05s.
func millis(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return d.Round(time.Second).String()
}
