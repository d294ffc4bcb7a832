package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"

	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
)

// UsageOptions are the inputs of `usage`.
type UsageOptions struct {
	IO    *iostreams.IO
	Clock clockwork.Clock
	// LedgerPath is the usage ledger's file.
	LedgerPath string
	Context    context.Context

	Since    string // a duration ("24h", "7d") or a date ("2026-11-01")
	By       ledger.Group
	Requests bool
	Limit    int
	JSON     bool
}

// DefaultUsageSince is how far back `usage` looks without --since.
const DefaultUsageSince = "30d"

// NewCmdUsage builds `usage [--since D] [--by day|provider|model|account]
// [--requests [--limit N]] [--json]`.
func NewCmdUsage(f *Factory, runF func(*UsageOptions) error) *cobra.Command {
	opts := &UsageOptions{IO: f.IO, Clock: f.Clock, LedgerPath: f.LedgerPath}
	var by string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show the requests and tokens the proxy has recorded",
		Long: `Show what went through the proxy: requests, errors and the tokens each
provider reported (input, output, cache read, cache creation), added up by
day, provider, model or account; or, with --requests, the latest requests
(whose CACHE column is cache read plus cache creation; --json keeps them
apart).

--since takes a duration (24h, 7d, 30d) or a date (2026-11-01, local
midnight); the default is 30d. Records are kept for [ledger] retention
(90d by default) in $XDG_STATE_HOME/ccproxy-tui/usage.db.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Context = c.Context()
			if opts.Clock == nil {
				opts.Clock = clockwork.NewRealClock()
			}
			if _, err := sinceTime(opts.Since, opts.Clock.Now()); err != nil {
				return flagErrorf("--since: %v", err)
			}
			opts.By = ledger.Group(by)
			valid := false
			for _, g := range ledger.Groups {
				valid = valid || g == opts.By
			}
			if !valid {
				return flagErrorf("--by must be day, provider, model or account, not %q", by)
			}
			if opts.Requests && c.Flags().Changed("by") {
				return flagErrorf("--by adds requests up; it does not go with --requests")
			}
			if !opts.Requests && c.Flags().Changed("limit") {
				return flagErrorf("--limit goes with --requests")
			}
			if opts.Limit < 1 {
				return flagErrorf("--limit must be at least 1")
			}
			if runF != nil {
				return runF(opts)
			}
			return usageRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Since, "since", DefaultUsageSince, "how far back: a duration (24h, 7d, 30d) or a date (YYYY-MM-DD)")
	cmd.Flags().StringVar(&by, "by", string(ledger.ByDay), "add up by day, provider, model or account")
	cmd.Flags().BoolVar(&opts.Requests, "requests", false, "list the latest requests instead")
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "how many requests --requests lists")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array")
	return cmd
}

// sinceTime reads --since: a duration back from now, or a local date or
// RFC 3339 time.
func sinceTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, now.Location()); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a duration like 24h or 7d, or a date like 2026-11-01, not %q", s)
	}
	return now.Add(-d), nil
}

func usageRun(opts *UsageOptions) error {
	ctx := contextOr(opts.Context)
	since, _ := sinceTime(opts.Since, opts.Clock.Now())
	if opts.LedgerPath == "" || !ledgerExists(opts.LedgerPath) {
		if opts.JSON {
			_, err := io.WriteString(opts.IO.Out, "[]\n")
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "No usage recorded yet: %s does not exist. Requests are recorded while serve or the dashboard runs the proxy.\n", opts.LedgerPath)
		return nil
	}
	db, err := ledger.Open(ctx, opts.LedgerPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if opts.Requests {
		recs, err := db.Recent(ctx, since, opts.Limit)
		if err != nil {
			return err
		}
		if opts.JSON {
			return writeJSON(opts.IO.Out, requestRows(recs))
		}
		printRequests(opts.IO.Out, recs)
		return nil
	}
	rows, err := db.Summary(ctx, since, opts.By)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "No requests recorded since %s.\n", since.Format("2006-01-02 15:04"))
		return nil
	}
	printSummary(opts.IO.Out, opts.By, rows)
	return nil
}

// ledgerExists reports whether the ledger file has been created, so that
// reading usage never creates one.
func ledgerExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// RequestRow is one element of `usage --requests --json`.
type RequestRow struct {
	ID                  int64     `json:"id"`
	Time                time.Time `json:"time"`
	Provider            string    `json:"provider"`
	Account             string    `json:"account"`
	Method              string    `json:"method"`
	Path                string    `json:"path"`
	Model               string    `json:"model"`
	Status              int       `json:"status"`
	DurationMS          float64   `json:"duration_ms"`
	TTFBMS              float64   `json:"ttfb_ms"`
	BytesIn             int64     `json:"bytes_in"`
	BytesOut            int64     `json:"bytes_out"`
	Retried             bool      `json:"retried"`
	ErrorKind           string    `json:"error_kind"`
	InputTokens         int64     `json:"input_tokens"`
	OutputTokens        int64     `json:"output_tokens"`
	CacheReadTokens     int64     `json:"cache_read_tokens"`
	CacheCreationTokens int64     `json:"cache_creation_tokens"`
}

func requestRows(recs []ledger.Record) []RequestRow {
	out := make([]RequestRow, len(recs))
	for i, r := range recs {
		out[i] = RequestRow{
			ID: r.ID, Time: r.Time.UTC(), Provider: r.Provider, Account: r.Account, Method: r.Method, Path: r.Path,
			Model: r.Model, Status: r.Status, DurationMS: ms(r.Duration), TTFBMS: ms(r.TTFB),
			BytesIn: r.BytesIn, BytesOut: r.BytesOut, Retried: r.Retried, ErrorKind: r.ErrorKind,
			InputTokens: r.Tokens.Input, OutputTokens: r.Tokens.Output, CacheReadTokens: r.Tokens.CacheRead,
			CacheCreationTokens: r.Tokens.CacheCreation,
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printSummary(w io.Writer, by ledger.Group, rows []ledger.Row) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tREQUESTS\tERRORS\tINPUT\tOUTPUT\tCACHE READ\tCACHE WRITE\t\n", strings.ToUpper(string(by)))
	var total ledger.Row
	for _, r := range rows {
		key := map[ledger.Group]string{ledger.ByDay: r.Day, ledger.ByProvider: r.Provider, ledger.ByModel: r.Model, ledger.ByAccount: r.Account}[by]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", orDash(termsafe.Line(key)), thousands(r.Requests), thousands(r.Errors),
			thousands(r.InputTokens), thousands(r.OutputTokens), thousands(r.CacheReadTokens), thousands(r.CacheCreationTokens))
		total.Requests += r.Requests
		total.Errors += r.Errors
		total.InputTokens += r.InputTokens
		total.OutputTokens += r.OutputTokens
		total.CacheReadTokens += r.CacheReadTokens
		total.CacheCreationTokens += r.CacheCreationTokens
	}
	if len(rows) > 1 {
		fmt.Fprintf(tw, "total\t%s\t%s\t%s\t%s\t%s\t%s\t\n", thousands(total.Requests), thousands(total.Errors),
			thousands(total.InputTokens), thousands(total.OutputTokens), thousands(total.CacheReadTokens), thousands(total.CacheCreationTokens))
	}
	tw.Flush()
}

func printRequests(w io.Writer, recs []ledger.Record) {
	if len(recs) == 0 {
		fmt.Fprintln(w, "No requests recorded in that time.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPROVIDER\tMODEL\tSTATUS\tIN\tOUT\tCACHE\tLATENCY\tTTFB")
	for _, r := range recs {
		status := strconv.Itoa(r.Status)
		if r.ErrorKind != "" {
			status += " " + r.ErrorKind
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format("01-02 15:04:05"),
			termsafe.Line(r.Provider), orDash(termsafe.Line(r.Model)), termsafe.Line(status),
			thousands(r.Tokens.Input), thousands(r.Tokens.Output), thousands(r.Tokens.CacheRead+r.Tokens.CacheCreation),
			latency(r.Duration), latency(r.TTFB))
	}
	tw.Flush()
}

// latency prints a duration the way people read latencies: 850ms, 2.4s.
func latency(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

// thousands groups digits: 1234567 → 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
