package ledger

import (
	"bytes"
	"os"
	"testing"
)

// assertFileLacks closes d and checks that none of secrets is anywhere in
// its files: the database, its WAL and its shared memory.
func assertFileLacks(t *testing.T, d *DB, secrets ...string) {
	t.Helper()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d.Path(), d.Path() + "-wal", d.Path() + "-shm"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds the secret %q", p, s)
			}
		}
	}
}
