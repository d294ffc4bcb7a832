package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// migrations[i] brings the schema from version i to i+1. Append only: a
// released step is never edited, because files out there already ran it.
var migrations = []string{
	// 1: the latest quota observation per provider, account and window.
	`CREATE TABLE quota_snapshot (
		provider    TEXT NOT NULL,
		account     TEXT NOT NULL,
		status      TEXT NOT NULL,
		binding     TEXT NOT NULL,
		source      TEXT NOT NULL,
		observed_at TEXT NOT NULL,
		PRIMARY KEY (provider, account)
	) WITHOUT ROWID;
	CREATE TABLE quota_window (
		provider       TEXT NOT NULL,
		account        TEXT NOT NULL,
		name           TEXT NOT NULL,
		used_percent   REAL NOT NULL,
		resets_at      TEXT NOT NULL,
		window_minutes INTEGER NOT NULL,
		status         TEXT NOT NULL,
		source         TEXT NOT NULL,
		observed_at    TEXT NOT NULL,
		PRIMARY KEY (provider, account, name)
	) WITHOUT ROWID;`,
	// 2: one row per proxied request, and (only with [ledger] bodies = true)
	// its masked headers and bodies beside it. Times are Unix milliseconds
	// and durations microseconds: integers keep 100 000 rows small and
	// their range scans fast. day is the writer's local calendar day.
	`CREATE TABLE request (
		id                    INTEGER PRIMARY KEY,
		ts                    INTEGER NOT NULL,
		day                   TEXT NOT NULL,
		provider              TEXT NOT NULL,
		account               TEXT NOT NULL,
		method                TEXT NOT NULL,
		path                  TEXT NOT NULL,
		model                 TEXT NOT NULL,
		status                INTEGER NOT NULL,
		duration_us           INTEGER NOT NULL,
		ttfb_us               INTEGER NOT NULL,
		bytes_in              INTEGER NOT NULL,
		bytes_out             INTEGER NOT NULL,
		retried               INTEGER NOT NULL,
		error_kind            TEXT NOT NULL,
		usage_seen            INTEGER NOT NULL,
		input_tokens          INTEGER NOT NULL,
		output_tokens         INTEGER NOT NULL,
		cache_read_tokens     INTEGER NOT NULL,
		cache_creation_tokens INTEGER NOT NULL
	);
	CREATE INDEX request_ts ON request (ts);
	CREATE TABLE request_detail (
		request_id       INTEGER PRIMARY KEY REFERENCES request (id) ON DELETE CASCADE,
		request_headers  TEXT NOT NULL,
		request_body     BLOB,
		response_headers TEXT NOT NULL,
		response_body    BLOB
	);`,
	// 3: the per-day totals Summary reads, kept up to date by Insert, so
	// that a month of 100 000 requests adds up in milliseconds; filled
	// from the requests already recorded.
	`CREATE TABLE usage_day (
		day                   TEXT NOT NULL,
		provider              TEXT NOT NULL,
		account               TEXT NOT NULL,
		model                 TEXT NOT NULL,
		requests              INTEGER NOT NULL,
		errors                INTEGER NOT NULL,
		input_tokens          INTEGER NOT NULL,
		output_tokens         INTEGER NOT NULL,
		cache_read_tokens     INTEGER NOT NULL,
		cache_creation_tokens INTEGER NOT NULL,
		PRIMARY KEY (day, provider, account, model)
	) WITHOUT ROWID;
	INSERT INTO usage_day SELECT day, provider, account, model, COUNT(*), SUM(status >= 400 OR error_kind != ''),
		SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_creation_tokens)
		FROM request GROUP BY day, provider, account, model;`,
}

// SchemaVersion is the version Open migrates every file to.
func SchemaVersion() int { return len(migrations) }

// NewerSchemaError means the file was written by a newer ccproxy-tui, whose
// tables this one must not touch.
type NewerSchemaError struct{ File, Known int }

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("schema version %d is newer than this ccproxy-tui knows (%d); upgrade ccproxy-tui", e.File, e.Known)
}

// migrate runs the missing steps, each in its own write transaction that
// re-reads the version once it holds the lock: a second process opening the
// same old file waits, then finds nothing left to do.
func (d *DB) migrate(ctx context.Context) error {
	return migrateTo(ctx, d, len(migrations))
}

func migrateTo(ctx context.Context, d *DB, target int) error {
	deadline := time.NewTimer(BusyTimeout)
	defer deadline.Stop()
	wait := 5 * time.Millisecond
	for {
		done, err := migrateStep(ctx, d, target)
		switch {
		case done:
			return nil
		case err == nil:
			wait = 5 * time.Millisecond
			continue
		case !isBusy(err):
			return err
		}
		// Two processes opening a new file at once: while one turns it to
		// WAL, the other's BEGIN is refused at once, busy timeout or not.
		// Try again shortly, for as long as the busy timeout.
		retry := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			retry.Stop()
			return err
		case <-deadline.C:
			retry.Stop()
			return err
		case <-retry.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY
// and its extended codes).
func isBusy(err error) bool {
	var se interface{ Code() int }
	return errors.As(err, &se) && se.Code()&0xff == 5
}

func migrateStep(ctx context.Context, d *DB, target int) (done bool, err error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return false, &NewerSchemaError{File: v, Known: len(migrations)}
	}
	if v >= target {
		return true, tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return false, fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
	}
	return false, nil
}
