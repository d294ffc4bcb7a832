// Package ledger is the embedded SQLite database of what went through the
// proxy: the latest quota observation per provider, account and window, and
// (from schema version 2) one usage record per proxied request. It owns the
// file, the schema and its migrations, the batched writes and the queries.
//
// It does no HTTP and no drawing, and it never stores a credential: callers
// hand it plain values (quota.Snapshot, Record) that carry none.
//
// Decisions:
//   - The file is usage.db under $XDG_STATE_HOME/ccproxy-tui, 0600 in a 0700
//     folder, refused when it is a symlink. SQLite's -wal and -shm files take
//     the database file's mode.
//   - WAL journal, a busy timeout and write transactions that take the lock
//     at BEGIN (IMMEDIATE), so a serve and a dashboard write at once, each
//     waiting its turn instead of failing.
//   - The schema version is PRAGMA user_version; each migration runs in its
//     own write transaction, so two processes opening an old file at once
//     migrate it once.
//   - The pure-Go driver modernc.org/sqlite keeps `go run .` free of a C
//     toolchain.
package ledger
