package ledger

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// The test binary doubles as the other process: with LEDGER_HELPER set it
// runs one of the helpers below against LEDGER_PATH instead of the tests.
func TestMain(m *testing.M) {
	switch os.Getenv("LEDGER_HELPER") {
	case "":
		goleak.VerifyTestMain(m)
	case "write":
		os.Exit(helperWrite())
	case "batches":
		os.Exit(helperBatches())
	default:
		os.Exit(3)
	}
}

// helperWrite writes LEDGER_ROWS records through a Writer, then exits.
func helperWrite() int {
	n, _ := strconv.Atoi(os.Getenv("LEDGER_ROWS"))
	d, err := Open(context.Background(), os.Getenv("LEDGER_PATH"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w := NewWriter(d, WriterOptions{Queue: n, Batch: 50}) // small batches: many turns at the lock
	for i := range n {
		if !w.Add(rec(t0.Add(time.Duration(i)*time.Millisecond), "p"+os.Getenv("LEDGER_NAME"), "m", 200, usage.Tokens{Input: 1, Output: 1})) {
			fmt.Fprintln(os.Stderr, "dropped", i)
			return 1
		}
	}
	if err := w.Close(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if st := w.Stats(); st.Written != int64(n) {
		fmt.Fprintf(os.Stderr, "%+v\n", st)
		return 1
	}
	if err := d.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperBatches inserts batches of helperBatch records forever, printing
// the running total after each commit, until it is killed.
func helperBatches() int {
	d, err := Open(context.Background(), os.Getenv("LEDGER_PATH"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	batch := make([]Record, helperBatch)
	for total := 0; ; {
		for i := range batch {
			batch[i] = rec(t0, "claude", "m", 200, usage.Tokens{Input: 7})
			batch[i].Path = strings.Repeat("/x", 50) // bigger pages, longer transactions
		}
		if err := d.Insert(context.Background(), batch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		total += len(batch)
		fmt.Println(total)
	}
}

const helperBatch = 200

func helper(t *testing.T, ctx context.Context, kind, path string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"LEDGER_HELPER=" + kind, "LEDGER_PATH=" + path}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func countRows(t *testing.T, path string) (int, map[string]int) {
	t.Helper()
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var check string
	if err := d.sql.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	rows, err := d.Summary(context.Background(), time.Time{}, ByProvider)
	if err != nil {
		t.Fatal(err)
	}
	total, per := 0, map[string]int{}
	for _, r := range rows {
		total += int(r.Requests)
		per[r.Provider] = int(r.Requests)
	}
	return total, per
}

// TestTwoProcessesWriteAtOnce: a serve and a dashboard share the file; two
// processes writing 10 000 records each leave 20 000.
func TestTwoProcessesWriteAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), FileName)
	const each = 10000
	a := helper(t, ctx, "write", path, "LEDGER_ROWS="+strconv.Itoa(each), "LEDGER_NAME=a")
	b := helper(t, ctx, "write", path, "LEDGER_ROWS="+strconv.Itoa(each), "LEDGER_NAME=b")
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	errA, errB := a.Wait(), b.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("writers: %v, %v", errA, errB)
	}
	total, per := countRows(t, path)
	if total != 2*each || per["pa"] != each || per["pb"] != each {
		t.Errorf("%d rows (%v), want %d from each", total, per, each)
	}
}

// TestKilledWriterLosesAtMostItsBatch: kill -9 while a process commits
// batch after batch. The file passes integrity_check, holds every batch it
// reported committed and none in part.
func TestKilledWriterLosesAtMostItsBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), FileName)
	cmd := helper(t, ctx, "batches", path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	reported := 0
	for reported < 20*helperBatch && sc.Scan() {
		reported, _ = strconv.Atoi(sc.Text())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to finish anything
		t.Fatal(err)
	}
	for sc.Scan() { // lines already written before the kill
		reported, _ = strconv.Atoi(sc.Text())
	}
	_ = cmd.Wait()
	total, _ := countRows(t, path)
	if total < reported || total > reported+helperBatch || total%helperBatch != 0 {
		t.Errorf("%d rows after the kill; %d were reported committed, batches are %d", total, reported, helperBatch)
	}
}
