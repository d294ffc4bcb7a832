package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// SaveQuota keeps s as the latest observation of its provider and account:
// the snapshot's status, binding, source and time replace the previous
// ones, and each of its windows replaces the stored window of the same
// name. A window s does not mention keeps its earlier observation (a
// response's headers may carry fewer windows than the usage endpoint), with
// that observation's own source and time, which LatestQuota gives back on
// each window.
func (d *DB) SaveQuota(ctx context.Context, s quota.Snapshot) error {
	observed := formatTime(s.ObservedAt)
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save quota of %s: %w", s.Provider, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `INSERT INTO quota_snapshot (provider, account, status, binding, source, observed_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (provider, account) DO UPDATE SET
			status = excluded.status, binding = excluded.binding,
			source = excluded.source, observed_at = excluded.observed_at`,
		s.Provider, s.Account, string(s.Status), s.Binding, string(s.Source), observed); err != nil {
		return fmt.Errorf("save quota of %s: %w", s.Provider, err)
	}
	for _, w := range s.Windows {
		if _, err := tx.ExecContext(ctx, `INSERT INTO quota_window
			(provider, account, name, used_percent, resets_at, window_minutes, status, source, observed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (provider, account, name) DO UPDATE SET
				used_percent = excluded.used_percent, resets_at = excluded.resets_at,
				window_minutes = excluded.window_minutes, status = excluded.status,
				source = excluded.source, observed_at = excluded.observed_at`,
			s.Provider, s.Account, w.Name, storedPercent(w), formatTime(w.ResetsAt), w.WindowMinutes,
			string(w.Status), string(s.Source), observed); err != nil {
			return fmt.Errorf("save quota of %s: %w", s.Provider, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save quota of %s: %w", s.Provider, err)
	}
	return nil
}

// LatestQuota returns the latest observation of every provider and account,
// ordered by provider then account, each with its windows ordered by name.
// Windows is never nil, so `quota --json` prints [] rather than null.
func (d *DB) LatestQuota(ctx context.Context) ([]quota.Snapshot, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT provider, account, status, binding, source, observed_at
		FROM quota_snapshot ORDER BY provider, account`)
	if err != nil {
		return nil, fmt.Errorf("read quota: %w", err)
	}
	out := []quota.Snapshot{}
	index := map[[2]string]int{}
	for rows.Next() {
		var s quota.Snapshot
		var status, source, observed string
		if err := rows.Scan(&s.Provider, &s.Account, &status, &s.Binding, &source, &observed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read quota: %w", err)
		}
		s.Status, s.Source, s.ObservedAt = quota.Status(status), quota.Source(source), parseTime(observed)
		s.Windows = []quota.Window{}
		index[[2]string{s.Provider, s.Account}] = len(out)
		out = append(out, s)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("read quota: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read quota: %w", err)
	}

	rows, err = d.sql.QueryContext(ctx, `SELECT provider, account, name, used_percent, resets_at, window_minutes, status, source, observed_at
		FROM quota_window ORDER BY provider, account, name`)
	if err != nil {
		return nil, fmt.Errorf("read quota windows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var provider, account, resets, status, source, observed string
		var w quota.Window
		if err := rows.Scan(&provider, &account, &w.Name, &w.UsedPercent, &resets, &w.WindowMinutes, &status, &source, &observed); err != nil {
			return nil, fmt.Errorf("read quota windows: %w", err)
		}
		w.ResetsAt, w.Status = parseTime(resets), quota.Status(status)
		w.Source, w.ObservedAt = quota.Source(source), parseTime(observed)
		loadPercent(&w)
		i, ok := index[[2]string{provider, account}]
		if !ok {
			continue
		}
		out[i].Windows = append(out[i].Windows, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read quota windows: %w", err)
	}
	return out, nil
}

// formatTime writes t as RFC 3339 in UTC, or "" for the zero time (a window
// with no known reset).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime reads formatTime's output; anything else is the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// unknownPercent stands in the used_percent column for a window whose
// fullness the server did not say (quota.Window.UsageUnknown).
const unknownPercent = -1

func storedPercent(w quota.Window) float64 {
	if w.UsageUnknown {
		return unknownPercent
	}
	return w.UsedPercent
}

// loadPercent undoes storedPercent: an unknown fullness reads back as
// UsageUnknown, with the 100 % a rejected window is shown at.
func loadPercent(w *quota.Window) {
	if w.UsedPercent >= 0 {
		return
	}
	w.UsageUnknown, w.UsedPercent = true, 0
	if w.Status == quota.Rejected {
		w.UsedPercent = 100
	}
}
