package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// changes collects what a Watch reports, one channel send per call.
type changes chan string

func (c changes) next(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-c:
		if got != want {
			t.Fatalf("changed(%q), want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no change reported for %q", want)
	}
}

// startWatch runs w.Watch until the test ends.
func startWatch(t *testing.T, w Watcher) changes {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(changes, 64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := w.Watch(ctx, func(p string) { ch <- p }); err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	// Once watching, Watch says anything may have changed before.
	ch.next(t, "")
	return ch
}

// TestWatchSeesAnotherWriter: every backend reports a save and a delete
// made through another handle on the same storage, as another process
// would make them.
func TestWatchSeesAnotherWriter(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		watched, err := NewFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		other, err := NewFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{})
		watched.watching = func(string) { close(ready) }
		ch := startWatch(t, watched)
		<-ready
		mustSave(t, other, "claude", blob(1))
		ch.next(t, "claude")
		drain(ch)
		if err := other.Delete(context.Background(), "claude"); err != nil {
			t.Fatal(err)
		}
		ch.next(t, "claude")
	})
	t.Run("memory", func(t *testing.T) {
		m := NewMemory()
		ready := make(chan struct{})
		m.watching = func() { close(ready) }
		ch := startWatch(t, m)
		<-ready
		mustSave(t, m, "codex", blob(1))
		ch.next(t, "codex")
		if err := m.Delete(context.Background(), "codex"); err != nil {
			t.Fatal(err)
		}
		ch.next(t, "codex")
	})
}

func drain(ch changes) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestWatchStatFallback: without any event, the stat comparison on the
// clock still reports a change, a replacement and a removal.
func TestWatchStatFallback(t *testing.T) {
	dir := t.TempDir()
	clk := clockwork.NewFakeClock()
	ch := make(changes, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	// Watch a folder through stat alone: a different extension than the
	// one written keeps fsnotify's events out of the way.
	ready := make(chan struct{})
	go func() {
		defer close(done)
		watchDir(ctx, dir, ".stamp", clk, func(string) { close(ready) }, func(p string) { ch <- p })
	}()
	defer func() { cancel(); <-done }()
	<-ready
	ch.next(t, "")
	if err := os.WriteFile(filepath.Join(dir, "corp.stamp"), []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk.Advance(statEvery)
	ch.next(t, "corp")
	if err := os.Remove(filepath.Join(dir, "corp.stamp")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(statEvery)
	ch.next(t, "corp")
}

func TestKeyringWatchSeesStamps(t *testing.T) {
	k := allBackends()[2].open(t, clockwork.NewRealClock()).(*Keyring)
	ready := make(chan struct{})
	k.watching = func(string) { close(ready) }
	ch := startWatch(t, k)
	<-ready
	mustSave(t, k, "claude", blob(1))
	ch.next(t, "claude")
}

func TestFileReserveThenCommit(t *testing.T) {
	f, _ := newTestFile(t)
	ctx := context.Background()
	mustSave(t, f, "claude", blob(1))
	r, err := f.Reserve(ctx, "claude")
	if err != nil {
		t.Fatal(err)
	}
	temps := func() int {
		entries, _ := os.ReadDir(f.Dir())
		n := 0
		for _, e := range entries {
			if strings.Contains(e.Name(), tempMark) {
				info, _ := e.Info()
				if info.Size() < ReserveSize {
					t.Errorf("reserved temp file holds %d bytes, want %d", info.Size(), ReserveSize)
				}
				n++
			}
		}
		return n
	}
	if temps() != 1 {
		t.Fatal("Reserve did not hold room beside the record")
	}
	if got, _ := f.Load(ctx, "claude"); blobN(t, got) != 1 {
		t.Fatal("Reserve changed the record")
	}
	if err := r.Commit(ctx, blob(2)); err != nil {
		t.Fatal(err)
	}
	got, err := f.Load(ctx, "claude")
	if err != nil || blobN(t, got) != 2 || len(got) != len(blob(2)) {
		t.Fatalf("after commit: %d bytes, %v", len(got), err)
	}
	r.Release() // after Commit: nothing to do
	if temps() != 0 {
		t.Error("commit left a temp file")
	}
	r2, err := f.Reserve(ctx, "claude")
	if err != nil {
		t.Fatal(err)
	}
	r2.Release()
	if temps() != 0 {
		t.Error("release left a temp file")
	}
	if got, _ := f.Load(ctx, "claude"); blobN(t, got) != 2 {
		t.Error("release changed the record")
	}
}

func TestFaultyFailsWritesOnDemand(t *testing.T) {
	ctx := context.Background()
	for _, inner := range []Store{NewMemory(), func() Store { f, _ := newTestFile(t); return f }()} {
		f := NewFaulty(inner)
		mustSave(t, f, "claude", blob(1))
		f.FailSaves(2)
		for range 2 {
			if err := f.Save(ctx, "claude", blob(2)); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("%T: failing save = %v, want ENOSPC", inner, err)
			}
		}
		mustSave(t, f, "claude", blob(3))

		// Room reserved before the disk filled is still there to commit.
		r, err := f.Reserve(ctx, "claude")
		if err != nil {
			t.Fatal(err)
		}
		f.SetFull(true)
		if _, err := f.Reserve(ctx, "claude"); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("%T: reserve on a full disk = %v", inner, err)
		}
		if err := r.Commit(ctx, blob(4)); err != nil {
			t.Fatalf("%T: commit of reserved room = %v", inner, err)
		}
		if got, _ := f.Load(ctx, "claude"); blobN(t, got) != 4 {
			t.Errorf("%T: record = %d, want 4", inner, blobN(t, got))
		}
		f.SetFull(false)
		if saved, refused := f.Writes(); saved != 3 || refused != 3 {
			t.Errorf("%T: writes saved=%d refused=%d, want 3 and 3", inner, saved, refused)
		}
	}
}

// A disk that fills up still takes the next records, atomically, in the
// room spares made earlier hold; an unused reservation gives its spare
// back; once the disk has room the spares are made again.
func TestFileSparesTakeRecordsOnAFullDisk(t *testing.T) {
	f, _ := newTestFile(t)
	ctx := context.Background()
	mustSave(t, f, "claude", blob(1))
	var full bool
	f.full = func() bool { return full }
	spares := func() int {
		n := 0
		for i := range spareCount {
			if info, err := os.Stat(f.sparePath("claude", i)); err == nil && info.Size() >= spareSize {
				n++
			}
		}
		return n
	}
	if spares() != spareCount {
		t.Fatalf("%d spares after a save, want %d", spares(), spareCount)
	}

	full = true
	r, err := f.Reserve(ctx, "claude")
	if err != nil {
		t.Fatalf("reserve on a full disk with spares: %v", err)
	}
	r.Release()
	if spares() != spareCount {
		t.Fatalf("an unused reservation used up a spare: %d left", spares())
	}
	for n := 2; n < 2+spareCount; n++ {
		mustSave(t, f, "claude", blob(n))
		if got, _ := f.Load(ctx, "claude"); blobN(t, got) != n {
			t.Fatalf("record %d not on disk", n)
		}
	}
	if err := f.Save(ctx, "claude", blob(9)); !outOfSpace(err) {
		t.Fatalf("save with no spare left on a full disk = %v, want ENOSPC", err)
	}
	if got, _ := f.Load(ctx, "claude"); blobN(t, got) != 1+spareCount {
		t.Fatal("a failed save changed the record")
	}

	full = false
	mustSave(t, f, "claude", blob(10))
	if spares() != spareCount {
		t.Errorf("%d spares after the disk recovered, want %d", spares(), spareCount)
	}
	if err := f.Delete(ctx, "claude"); err != nil {
		t.Fatal(err)
	}
	if spares() != 0 {
		t.Error("logout left spares behind")
	}
	assertList(t, f)
}
