package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Insert writes records in one transaction: all of them or, on error, none.
// It sets each record's ID. Writers use it through a Writer; tests and
// imports call it directly.
func (d *DB) Insert(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	stmts, err := d.prepareWrites(ctx)
	if err != nil {
		return fmt.Errorf("write %d usage records: %w", len(recs), err)
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write %d usage records: %w", len(recs), err)
	}
	defer func() { _ = tx.Rollback() }()
	days := dayNames{loc: d.loc}
	args := make([]any, 0, requestArgs*min(len(recs), insertChunk))
	for chunk := recs; len(chunk) > 0; {
		n := min(len(chunk), insertChunk)
		if err := d.insertRows(ctx, tx, stmts, &days, args, chunk[:n]); err != nil {
			return fmt.Errorf("write %d usage records: %w", len(recs), err)
		}
		chunk = chunk[n:]
	}
	if err := d.addDays(ctx, tx, stmts.upsert, &days, recs); err != nil {
		return fmt.Errorf("write %d usage records: %w", len(recs), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write %d usage records: %w", len(recs), err)
	}
	return nil
}

// insertChunk is the most records one INSERT statement carries: one
// statement per record costs the driver more than the rows themselves.
const insertChunk = 64

const requestCols = `(ts, day, provider, account, method, path, model, status,
	duration_us, ttfb_us, bytes_in, bytes_out, retried, error_kind, usage_seen,
	input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens)`

// requestArgs is how many values one request row binds.
const requestArgs = 19

// insertSize is the rows of the largest prepared INSERT that fits n
// records: a power of two up to insertChunk, so that a handful of
// statements, each parsed once, cover every batch.
func insertSize(n int) int {
	size := insertChunk
	for size > n {
		size /= 2
	}
	return size
}

// insertQuery is the INSERT of n request rows.
func insertQuery(n int) string {
	var q strings.Builder
	q.WriteString("INSERT INTO request " + requestCols + " VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	return q.String()
}

// insertQueries holds insertQuery(n) for every size insertSize picks.
var insertQueries = func() map[int]string {
	m := map[int]string{}
	for n := insertChunk; n > 0; n /= 2 {
		m[n] = insertQuery(n)
	}
	return m
}()

// insertRows writes recs (at most insertChunk) with as few prepared
// statements as their count needs and sets their IDs, which are
// consecutive: the transaction holds the write lock.
func (d *DB) insertRows(ctx context.Context, tx *sql.Tx, stmts *writeStmts, days *dayNames, args []any, recs []Record) error {
	for len(recs) > 0 {
		n := insertSize(len(recs))
		st := stmts.inserts[n]
		args = args[:0]
		for i := range recs[:n] {
			r := &recs[i]
			account := r.Account
			if account == "" {
				account = DefaultAccount
			}
			args = append(args, r.Time.UnixMilli(), days.of(r.Time), r.Provider, account,
				r.Method, r.Path, r.Model, r.Status, r.Duration.Microseconds(), r.TTFB.Microseconds(), r.BytesIn, r.BytesOut,
				r.Retried, r.ErrorKind, r.UsageSeen, r.Tokens.Input, r.Tokens.Output, r.Tokens.CacheRead, r.Tokens.CacheCreation)
		}
		res, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		last, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for i := range recs[:n] {
			r := &recs[i]
			r.ID = last - int64(n-1-i)
			if r.Detail != nil {
				dt := r.Detail
				if _, err := tx.ExecContext(ctx, `INSERT INTO request_detail (request_id, request_headers, request_body, response_headers, response_body)
					VALUES (?, ?, ?, ?, ?)`, r.ID, maskHeader(dt.RequestHeader), dt.RequestBody, maskHeader(dt.ResponseHeader), dt.ResponseBody); err != nil {
					return err
				}
			}
		}
		recs = recs[n:]
	}
	return nil
}

type dayKey struct{ day, provider, account, model string }

// dayNames names the calendar days of a batch's records in loc, formatting
// each day once: a batch's records nearly always fall on one.
type dayNames struct {
	loc        *time.Location
	start, end time.Time // the day last named, [start, end)
	name       string
}

func (d *dayNames) of(t time.Time) string {
	if d.name != "" && !t.Before(d.start) && t.Before(d.end) {
		return d.name
	}
	lt := t.In(d.loc)
	y, m, day := lt.Date()
	// Each midnight as the zone has it: a day is 23 or 25 hours long when
	// clocks change, and where they change at midnight it starts at 1 am.
	d.start = time.Date(y, m, day, 0, 0, 0, 0, d.loc)
	d.end = time.Date(y, m, day+1, 0, 0, 0, 0, d.loc)
	d.name = lt.Format(time.DateOnly)
	return d.name
}

// addDays adds the records to the per-day totals, one upsert per day,
// provider, account and model of the batch.
func (d *DB) addDays(ctx context.Context, tx *sql.Tx, upsert *sql.Stmt, days *dayNames, recs []Record) error {
	sums := map[dayKey]*Row{}
	var order []dayKey
	for _, r := range recs {
		account := r.Account
		if account == "" {
			account = DefaultAccount
		}
		k := dayKey{days.of(r.Time), r.Provider, account, r.Model}
		s := sums[k]
		if s == nil {
			s = &Row{}
			sums[k] = s
			order = append(order, k)
		}
		s.Requests++
		if r.Failed() {
			s.Errors++
		}
		s.InputTokens += r.Tokens.Input
		s.OutputTokens += r.Tokens.Output
		s.CacheReadTokens += r.Tokens.CacheRead
		s.CacheCreationTokens += r.Tokens.CacheCreation
	}
	up := tx.StmtContext(ctx, upsert)
	for _, k := range order {
		s := sums[k]
		if _, err := up.ExecContext(ctx,
			k.day, k.provider, k.account, k.model, s.Requests, s.Errors,
			s.InputTokens, s.OutputTokens, s.CacheReadTokens, s.CacheCreationTokens); err != nil {
			return err
		}
	}
	return nil
}

// upsertDay adds one batch's totals to a day's row.
const upsertDay = `INSERT INTO usage_day VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (day, provider, account, model) DO UPDATE SET
				requests = requests + excluded.requests, errors = errors + excluded.errors,
				input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
				cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
				cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens`

// Prune deletes the records older than before, a few thousand per
// transaction so that other writers are never held up for long. It returns
// how many went.
func (d *DB) Prune(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := d.sql.ExecContext(ctx, `DELETE FROM request WHERE id IN
			(SELECT id FROM request WHERE ts < ? ORDER BY ts LIMIT 5000)`, before.UnixMilli())
		if err != nil {
			return total, fmt.Errorf("prune usage records: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune usage records: %w", err)
		}
		total += n
		if n == 0 {
			break
		}
	}
	// Whole days before the cut-off leave the per-day totals too; the
	// cut-off's own day keeps its total.
	if _, err := d.sql.ExecContext(ctx, `DELETE FROM usage_day WHERE day < ?`, before.In(d.loc).Format(time.DateOnly)); err != nil {
		return total, fmt.Errorf("prune usage totals: %w", err)
	}
	return total, nil
}
