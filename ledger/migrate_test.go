package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// seeds[v] writes rows with the SQL of schema version v (not with today's
// code, which may have moved on), and checks[v] proves they survived every
// later migration.
var seeds = map[int]func(*sql.DB) error{
	1: func(db *sql.DB) error {
		_, err := db.Exec(`INSERT INTO quota_snapshot VALUES ('claude', 'default', 'allowed', '5h', 'headers', '2026-12-01T18:00:00Z');
			INSERT INTO quota_window VALUES ('claude', 'default', '5h', 12.5, '2026-12-01T20:00:00Z', 300, 'allowed', 'headers', '2026-12-01T18:00:00Z')`)
		return err
	},
	2: func(db *sql.DB) error {
		_, err := db.Exec(`INSERT INTO request (ts, day, provider, account, method, path, model, status, duration_us, ttfb_us,
			bytes_in, bytes_out, retried, error_kind, usage_seen, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens)
			VALUES (1764612000000, '2025-12-01', 'claude', 'default', 'POST', '/claude/v1/messages', 'claude-sonnet-4-5', 200,
			1500000, 300000, 120, 4000, 0, '', 1, 10, 20, 30, 40)`)
		return err
	},
	3: func(db *sql.DB) error {
		_, err := db.Exec(`INSERT INTO request (ts, day, provider, account, method, path, model, status, duration_us, ttfb_us,
			bytes_in, bytes_out, retried, error_kind, usage_seen, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens)
			VALUES (1764615600000, '2025-12-01', 'codex', 'work', 'POST', '/codex/responses', 'gpt-5-codex', 429,
			80000, 0, 50, 120, 0, 'upstream', 0, 0, 0, 0, 0);
			INSERT INTO usage_day VALUES ('2025-12-01', 'codex', 'work', 'gpt-5-codex', 1, 1, 0, 0, 0, 0)`)
		return err
	},
}

var checks = map[int]func(*DB) error{
	1: func(d *DB) error {
		got, err := d.LatestQuota(context.Background())
		if err != nil {
			return err
		}
		if len(got) != 1 || len(got[0].Windows) != 1 || got[0].Windows[0].UsedPercent != 12.5 {
			return fmt.Errorf("quota written at version 1 reads back as %#v", got)
		}
		return nil
	},
	2: func(d *DB) error {
		got, err := d.Summary(context.Background(), time.Unix(0, 0), ByModel)
		if err != nil {
			return err
		}
		// From version 2, migration 3 fills the per-day totals from the request.
		want := Row{Model: "claude-sonnet-4-5", Requests: 1, InputTokens: 10, OutputTokens: 20, CacheReadTokens: 30, CacheCreationTokens: 40}
		if len(got) == 0 || !reflect.DeepEqual(got[0], want) {
			return fmt.Errorf("requests written at version 2 read back as %#v", got)
		}
		return nil
	},
	3: func(d *DB) error {
		got, err := d.Summary(context.Background(), time.Unix(0, 0), ByAccount)
		if err != nil {
			return err
		}
		want := []Row{
			{Account: "default", Requests: 1, InputTokens: 10, OutputTokens: 20, CacheReadTokens: 30, CacheCreationTokens: 40},
			{Account: "work", Requests: 1, Errors: 1},
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("totals written at version 3 read back as %#v", got)
		}
		return nil
	},
}

func userVersion(t *testing.T, d *DB) int {
	t.Helper()
	var v int
	if err := d.sql.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrateFromEveryEarlierVersion(t *testing.T) {
	for from := 0; from < SchemaVersion(); from++ {
		t.Run(fmt.Sprintf("from %d", from), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), FileName)
			if err := prepareFile(path); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("sqlite", dsn(path))
			if err != nil {
				t.Fatal(err)
			}
			old := &DB{sql: raw, path: path}
			for v := 1; v <= from; v++ {
				if err := migrateTo(ctx, old, v); err != nil {
					t.Fatal(err)
				}
				if seed := seeds[v]; seed != nil {
					if err := seed(raw); err != nil {
						t.Fatalf("seed version %d: %v", v, err)
					}
				}
			}
			if got := userVersion(t, old); got != from {
				t.Fatalf("prepared version %d, want %d", got, from)
			}
			_ = raw.Close()

			d, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got := userVersion(t, d); got != SchemaVersion() {
				t.Errorf("version after Open = %d, want %d", got, SchemaVersion())
			}
			for v := 1; v <= from; v++ {
				if check := checks[v]; check != nil {
					if err := check(d); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
}

func TestEveryVersionHasASeedAndACheck(t *testing.T) {
	for v := 1; v <= SchemaVersion(); v++ {
		if seeds[v] == nil || checks[v] == nil {
			t.Errorf("schema version %d has no seed or no check in migrate_test.go", v)
		}
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	d := openTemp(t)
	if _, err := d.sql.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	_, err := Open(context.Background(), d.Path())
	var newer *NewerSchemaError
	if !errors.As(err, &newer) || newer.File != SchemaVersion()+1 {
		t.Fatalf("Open of a newer file: %v, want a NewerSchemaError", err)
	}
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			d, err := Open(context.Background(), path)
			if err == nil {
				err = d.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := userVersion(t, d); got != SchemaVersion() {
		t.Errorf("version %d, want %d", got, SchemaVersion())
	}
}

type codeErr int

func (c codeErr) Error() string { return fmt.Sprintf("sqlite error %d", int(c)) }
func (c codeErr) Code() int     { return int(c) }

func TestIsBusy(t *testing.T) {
	for err, want := range map[error]bool{
		codeErr(5):                               true,  // SQLITE_BUSY
		codeErr(5 | 2<<8):                        true,  // SQLITE_BUSY_SNAPSHOT
		fmt.Errorf("begin: %w", codeErr(5|1<<8)): true,  // SQLITE_BUSY_RECOVERY, wrapped
		codeErr(6):                               false, // SQLITE_LOCKED
		errors.New("database is locked"):         false,
	} {
		if got := isBusy(err); got != want {
			t.Errorf("isBusy(%v) = %v, want %v", err, got, want)
		}
	}
}
