package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/adrg/xdg"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the database's name inside its folder.
const FileName = "usage.db"

// BusyTimeout is how long a statement waits for another process's write
// transaction before giving up with "database is locked".
const BusyTimeout = 10 * time.Second

// DefaultPath is where the ledger lives: $XDG_STATE_HOME/ccproxy-tui/usage.db.
func DefaultPath() string { return filepath.Join(xdg.StateHome, "ccproxy-tui", FileName) }

// DB is an open ledger. It is safe for concurrent use by many goroutines,
// and other processes may have the same file open.
type DB struct {
	sql  *sql.DB
	path string
	loc  *time.Location // whose calendar days records are filed under

	stmtMu sync.Mutex
	writes *writeStmts // Insert's prepared statements, once prepareWrites ran
}

// Open opens (creating when missing) the ledger at path and migrates its
// schema to the latest version. The folder is made 0700 and the file 0600
// whatever the umask.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open usage ledger %s: %w", path, err)
	}
	d := &DB{sql: db, path: path, loc: time.Local}
	if err := d.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("usage ledger %s: %w", path, err)
	}
	return d, nil
}

// OpenMemory opens a ledger that lives in memory and is gone when closed:
// the demo fills it without touching a file.
func OpenMemory(ctx context.Context) (*DB, error) {
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(ON)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open in-memory usage ledger: %w", err)
	}
	// One connection is the one database: a second would be another, empty one.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	d := &DB{sql: db, path: ":memory:", loc: time.Local}
	if err := d.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("in-memory usage ledger: %w", err)
	}
	return d, nil
}

// dsn names the file and the settings every pooled connection starts with.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// A small page cache: serve only appends, and the dashboard reads
	// per-day totals; the default 2 MB per connection is most of the
	// proxy's memory budget.
	q.Add("_pragma", "cache_size(-512)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// prepareFile creates the folder 0700 and the file 0600 before SQLite sees
// it, so the database and its -wal and -shm files are private from the start.
func prepareFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create usage ledger folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return fmt.Errorf("open usage ledger %s: it is a symlink, which is never followed", path)
	}
	if err != nil {
		return fmt.Errorf("open usage ledger: %w", err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("restrict usage ledger %s: %w", path, err)
	}
	return nil
}

// SetLocation files new records under the calendar days of loc rather
// than the local zone's (tests pin it).
func (d *DB) SetLocation(loc *time.Location) { d.loc = loc }

// Path is the file the ledger was opened from.
func (d *DB) Path() string { return d.path }

// Close releases the file. Records still queued in a Writer are its business.
func (d *DB) Close() error {
	d.stmtMu.Lock()
	if d.writes != nil {
		d.writes.close()
		d.writes = nil
	}
	d.stmtMu.Unlock()
	return d.sql.Close()
}

// writeStmts are the statements Insert runs, prepared once for the DB's
// life (prepareWrites): the writer runs the same few for every batch, and
// SQLite's parser costs more than the rows they insert.
type writeStmts struct {
	inserts map[int]*sql.Stmt // by rows, every size insertSize picks
	upsert  *sql.Stmt         // upsertDay
}

// prepareWrites prepares Insert's statements on first use. It runs before
// Insert's transaction begins: the in-memory ledger has one connection,
// which the transaction then holds.
func (d *DB) prepareWrites(ctx context.Context) (*writeStmts, error) {
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	if d.writes != nil {
		return d.writes, nil
	}
	w := &writeStmts{inserts: map[int]*sql.Stmt{}}
	prepare := func(q string) (*sql.Stmt, error) {
		st, err := d.sql.PrepareContext(ctx, q)
		if err != nil {
			w.close()
		}
		return st, err
	}
	for n, q := range insertQueries {
		st, err := prepare(q)
		if err != nil {
			return nil, err
		}
		w.inserts[n] = st
	}
	up, err := prepare(upsertDay)
	if err != nil {
		return nil, err
	}
	w.upsert = up
	d.writes = w
	return w, nil
}

func (w *writeStmts) close() {
	for _, st := range w.inserts {
		_ = st.Close()
	}
	if w.upsert != nil {
		_ = w.upsert.Close()
	}
}
