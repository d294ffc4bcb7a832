package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// Group is what a Summary adds up by.
type Group string

// The groupings of `usage --by`.
const (
	ByDay      Group = "day"
	ByProvider Group = "provider"
	ByModel    Group = "model"
	ByAccount  Group = "account"
)

// Groups lists every Group, for flag help and validation.
var Groups = []Group{ByDay, ByProvider, ByModel, ByAccount}

// Row is one line of a Summary, in the shape of `usage --json`: the field
// grouped on is set, the others are "".
type Row struct {
	Provider            string `json:"provider"`
	Account             string `json:"account"`
	Model               string `json:"model"`
	Day                 string `json:"day"`
	Requests            int64  `json:"requests"`
	Errors              int64  `json:"errors"`
	InputTokens         int64  `json:"input_tokens"`
	OutputTokens        int64  `json:"output_tokens"`
	CacheReadTokens     int64  `json:"cache_read_tokens"`
	CacheCreationTokens int64  `json:"cache_creation_tokens"`
}

// Tokens is the row's usage as one value.
func (r Row) Tokens() usage.Tokens {
	return usage.Tokens{Input: r.InputTokens, Output: r.OutputTokens, CacheRead: r.CacheReadTokens, CacheCreation: r.CacheCreationTokens}
}

// errorCond is what counts as an error in a row's Errors.
const errorCond = `(status >= 400 OR error_kind != '')`

// Summary adds up the requests made since since, grouped by by, ordered by
// the group's value (days oldest first). Whole days come from the per-day
// totals; only the day since falls in is read record by record.
func (d *DB) Summary(ctx context.Context, since time.Time, by Group) ([]Row, error) {
	var col string
	switch by {
	case ByDay, ByProvider, ByModel, ByAccount:
		col = string(by)
	default:
		return nil, fmt.Errorf("usage summary: unknown grouping %q", by)
	}
	firstDay := ""
	if !since.IsZero() {
		firstDay = since.In(d.loc).Format(time.DateOnly)
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT `+col+`, SUM(requests), SUM(errors),
		SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_creation_tokens) FROM (
			SELECT day, provider, account, model, requests, errors,
				input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens
			FROM usage_day WHERE day > ?1
			UNION ALL
			SELECT day, provider, account, model, 1, `+errorCond+`,
				input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens
			FROM request WHERE ts >= ?2 AND ts < ?3 AND day = ?1
		) GROUP BY `+col+` ORDER BY `+col,
		firstDay, since.UnixMilli(), since.Add(48*time.Hour).UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("usage summary: %w", err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var r Row
		var key string
		if err := rows.Scan(&key, &r.Requests, &r.Errors, &r.InputTokens, &r.OutputTokens, &r.CacheReadTokens, &r.CacheCreationTokens); err != nil {
			return nil, fmt.Errorf("usage summary: %w", err)
		}
		switch by {
		case ByDay:
			r.Day = key
		case ByProvider:
			r.Provider = key
		case ByModel:
			r.Model = key
		case ByAccount:
			r.Account = key
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage summary: %w", err)
	}
	return out, nil
}

const recordCols = `id, ts, provider, account, method, path, model, status, duration_us, ttfb_us, bytes_in, bytes_out,
	retried, error_kind, usage_seen, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens`

func scanRecord(sc interface{ Scan(...any) error }) (Record, error) {
	var r Record
	var ts, dur, ttfb int64
	err := sc.Scan(&r.ID, &ts, &r.Provider, &r.Account, &r.Method, &r.Path, &r.Model, &r.Status, &dur, &ttfb,
		&r.BytesIn, &r.BytesOut, &r.Retried, &r.ErrorKind, &r.UsageSeen,
		&r.Tokens.Input, &r.Tokens.Output, &r.Tokens.CacheRead, &r.Tokens.CacheCreation)
	r.Time = time.UnixMilli(ts)
	r.Duration, r.TTFB = time.Duration(dur)*time.Microsecond, time.Duration(ttfb)*time.Microsecond
	return r, err
}

// Recent returns the latest limit records made since since, newest first,
// without their Detail.
func (d *DB) Recent(ctx context.Context, since time.Time, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT `+recordCols+` FROM request WHERE ts >= ? ORDER BY ts DESC, id DESC LIMIT ?`,
		since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("recent requests: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("recent requests: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent requests: %w", err)
	}
	return out, nil
}

// ErrNotFound is Get's answer for an id the ledger does not hold (never
// written, or pruned).
var ErrNotFound = errors.New("no such request in the usage ledger")

// Get returns one record with its Detail when one was kept.
func (d *DB) Get(ctx context.Context, id int64) (Record, error) {
	r, err := scanRecord(d.sql.QueryRowContext(ctx, `SELECT `+recordCols+` FROM request WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("request %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("request %d: %w", id, err)
	}
	var reqH, respH string
	var dt Detail
	err = d.sql.QueryRowContext(ctx, `SELECT request_headers, request_body, response_headers, response_body
		FROM request_detail WHERE request_id = ?`, id).Scan(&reqH, &dt.RequestBody, &respH, &dt.ResponseBody)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Record{}, fmt.Errorf("request %d: %w", id, err)
	default:
		dt.RequestHeader, dt.ResponseHeader = unmaskedHeader(reqH), unmaskedHeader(respH)
		r.Detail = &dt
	}
	return r, nil
}

// Point is one step of a Series: the requests and tokens in it.
type Point struct {
	Requests int64
	Tokens   int64
}

// Series buckets the requests since since into n steps of step each, per
// provider: the sparklines of the dashboard.
func (d *DB) Series(ctx context.Context, since time.Time, step time.Duration, n int) (map[string][]Point, error) {
	if step < time.Millisecond || n <= 0 {
		return map[string][]Point{}, nil
	}
	from := since.UnixMilli()
	rows, err := d.sql.QueryContext(ctx, `SELECT provider, (ts - ?) / ?, COUNT(*),
		SUM(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens)
		FROM request WHERE ts >= ? AND ts < ? GROUP BY 1, 2`, from, step.Milliseconds(), from, from+int64(n)*step.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("usage series: %w", err)
	}
	defer rows.Close()
	out := map[string][]Point{}
	for rows.Next() {
		var provider string
		var i int
		var p Point
		if err := rows.Scan(&provider, &i, &p.Requests, &p.Tokens); err != nil {
			return nil, fmt.Errorf("usage series: %w", err)
		}
		if i < 0 || i >= n {
			continue
		}
		s := out[provider]
		if s == nil {
			s = make([]Point, n)
			out[provider] = s
		}
		s[i] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage series: %w", err)
	}
	return out, nil
}
