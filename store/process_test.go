package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment of a helper child: which role it plays and where.
const (
	helperEnv      = "CCPROXY_STORE_TEST_HELPER"
	helperDirEnv   = "CCPROXY_STORE_TEST_DIR"
	helperStartEnv = "CCPROXY_STORE_TEST_START"
)

// crashPad makes each saved blob a few kilobytes, so a torn write would show.
var crashPad = strings.Repeat("0123456789abcdef", 256)

func seqBlob(seq int) []byte {
	return fmt.Appendf(nil, `{"version":1,"provider":"crash","seq":%d,"pad":%q}`, seq, crashPad)
}

// TestHelperProcess is not a test: it is the body of the child processes the
// crash and two-process tests start by re-running this test binary. Run
// without the helper environment it returns at once.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperEnv)
	if role == "" {
		return
	}
	// If the parent dies, stdin closes: never outlive it.
	stdin := bufio.NewReader(os.Stdin)
	s, err := NewFile(os.Getenv(helperDirEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	switch role {
	case "saver":
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			os.Exit(0)
		}()
		start, _ := strconv.Atoi(os.Getenv(helperStartEnv))
		for seq := start; ; seq++ {
			if err := s.Save(ctx, "crash", seqBlob(seq)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			if seq == start {
				fmt.Println("saving")
			}
		}
	case "counter":
		fmt.Println("ready")
		if line, err := stdin.ReadString('\n'); err != nil || line != "go\n" {
			os.Exit(2)
		}
		for i := 0; i < 100; i++ {
			if err := increment(ctx, s, "counter"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
		fmt.Println("done")
		os.Exit(0)
	}
	os.Exit(3)
}

// child is a running helper process with pipes to it.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	errBf strings.Builder
}

func startChild(t *testing.T, role, dir string, extraEnv ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")}
	c.cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + role, helperDirEnv + "=" + dir}, extraEnv...)...)
	c.cmd.Stderr = &c.errBf
	var err error
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.out = bufio.NewReader(out)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// expect reads the child's next line and fails unless it is want.
func (c *child) expect(t *testing.T, want string) {
	t.Helper()
	line, err := c.out.ReadString('\n')
	if strings.TrimSpace(line) != want {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		t.Fatalf("child said %q (%v), want %q; stderr: %s", line, err, want, c.errBf.String())
	}
}

// TestFileSurvivesKillDuringSave SIGKILLs a child saving in a tight loop 200
// times. After every kill the file must parse and hold the value seen before
// the kill or a later one: never a torn, empty or older file.
func TestFileSurvivesKillDuringSave(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	last := 0
	for kill := 1; kill <= 200; kill++ {
		c := startChild(t, "saver", dir, helperStartEnv+"="+strconv.Itoa(last+1))
		c.expect(t, "saving")
		// The kill moment is the test's input: somewhere in the next few
		// saves, landing in write, fsync, rename or the folder fsync.
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = c.cmd.Wait()
		_ = c.in.Close()

		b, err := s.Load(ctx, "crash")
		if err != nil {
			t.Fatalf("kill %d: Load after SIGKILL = %v", kill, err)
		}
		var v struct {
			Seq int
			Pad string
		}
		if err := json.Unmarshal(b, &v); err != nil || v.Pad != crashPad {
			t.Fatalf("kill %d: file is not a whole blob after SIGKILL (%v)", kill, err)
		}
		if v.Seq < last {
			t.Fatalf("kill %d: file went back from seq %d to %d", kill, last, v.Seq)
		}
		last = v.Seq
	}
	assertList(t, s, "crash")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), corruptMark) {
			t.Errorf("a kill left a corrupt file behind: %s", e.Name())
		}
	}
	t.Logf("200 kills, last seq %d", last)
}

// TestFileLockAcrossProcesses has two processes each do 100 locked
// read-modify-write increments of one record: the count must end at 200.
func TestFileLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	kids := []*child{startChild(t, "counter", dir), startChild(t, "counter", dir)}
	for _, c := range kids {
		c.expect(t, "ready")
	}
	for _, c := range kids {
		if _, err := io.WriteString(c.in, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range kids {
		c.expect(t, "done")
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v; stderr: %s", i, err, c.errBf.String())
		}
	}
	s, err := NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Load(context.Background(), "counter")
	if err != nil {
		t.Fatal(err)
	}
	if n := blobN(t, b); n != 200 {
		t.Fatalf("two processes × 100 locked increments ended at %d, want 200", n)
	}
}
