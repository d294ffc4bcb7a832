package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/adrg/xdg"
	"github.com/gofrs/flock"
	"github.com/jonboulle/clockwork"
)

func newTestFile(t *testing.T) (*File, *clockwork.FakeClock) {
	t.Helper()
	clk := clockwork.NewFakeClockAt(testClockStart)
	f, err := NewFile(filepath.Join(t.TempDir(), "credentials"), withClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	return f, clk
}

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

// TestFileModesHoldUnderAnyUmask is not parallel: the umask is process-wide.
func TestFileModesHoldUnderAnyUmask(t *testing.T) {
	for _, mask := range []int{0o000, 0o077, 0o022} {
		t.Run(fmt.Sprintf("umask %03o", mask), func(t *testing.T) {
			old := syscall.Umask(mask)
			defer syscall.Umask(old)

			root := t.TempDir()
			fresh := filepath.Join(root, "new", "credentials")
			loose := filepath.Join(root, "loose")
			if err := os.Mkdir(loose, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(loose, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, dir := range []string{fresh, loose} {
				s, err := NewFile(dir)
				if err != nil {
					t.Fatal(err)
				}
				mustSave(t, s, "claude", blob(1))
				mustSave(t, s, "claude", blob(2)) // a replacement keeps the mode too
				unlock, err := s.Lock(context.Background(), "claude")
				if err != nil {
					t.Fatal(err)
				}
				unlock()
				if got := perm(t, dir); got != 0o700 {
					t.Errorf("%s: folder mode %o, want 700", dir, got)
				}
				for _, name := range []string{"claude.json", "claude.lock"} {
					if got := perm(t, filepath.Join(dir, name)); got != 0o600 {
						t.Errorf("%s: mode %o, want 600", name, got)
					}
				}
			}
		})
	}
}

func TestFileCorruptIsKeptAsideAndTyped(t *testing.T) {
	cases := []struct {
		name, content, reason string
	}{
		{"empty", "", "empty"},
		{"blank", "\n  \n", "empty"},
		{"truncated", `{"version":1,"access_token":"sk-ant-oat01-SECRET`, "truncated"},
		{"garbage", `access_token=sk-ant-oat01-SECRET`, "not valid JSON"},
		{"array", `["sk-ant-oat01-SECRET"]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"no version", `{"access_token":"sk-ant-oat01-SECRET"}`, "no version"},
		{"wrong version", `{"version":0,"access_token":"sk-ant-oat01-SECRET"}`, "unknown version 0"},
		{"version holds a secret", `{"version":"sk-ant-oat01-SECRET"}`, "unknown version"},
		{"oversized", `{"version":1,"x":"` + strings.Repeat("SECRET", maxBlobSize/6) + `"}`, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestFile(t)
			path := filepath.Join(s.Dir(), "claude.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load(context.Background(), "claude")
			var ce *CorruptError
			if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
				t.Fatalf("Load = %v, want a *CorruptError", err)
			}
			if !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("reason %q, want it to say %q", ce.Reason, tc.reason)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error text leaks file content: %v", err)
			}
			if !strings.Contains(err.Error(), "ccproxy-tui auth login claude") {
				t.Errorf("error %q does not say how to recover", err)
			}
			want := path + ".corrupt-20261123T010203Z"
			if ce.KeptAs != want {
				t.Fatalf("KeptAs = %q, want %q", ce.KeptAs, want)
			}
			kept, err := os.ReadFile(ce.KeptAs)
			if err != nil || string(kept) != tc.content {
				t.Fatalf("kept-aside copy differs from the original (err %v)", err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("corrupt file still at %s (%v)", path, err)
			}
			if _, err := s.Load(context.Background(), "claude"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second Load = %v, want ErrNotFound (needs login)", err)
			}
			mustSave(t, s, "claude", blob(7))
			assertList(t, s, "claude")
		})
	}
}

func TestFileSecondCorruptionInTheSameSecondKeepsBoth(t *testing.T) {
	s, _ := newTestFile(t)
	path := filepath.Join(s.Dir(), "claude.json")
	var kept []string
	for _, content := range []string{"first{", "second{"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load(context.Background(), "claude")
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.KeptAs == "" {
			t.Fatalf("Load = %v, want a kept-aside CorruptError", err)
		}
		kept = append(kept, ce.KeptAs)
	}
	if kept[0] == kept[1] {
		t.Fatalf("both corruptions kept as %s: the first was overwritten", kept[0])
	}
	for i, want := range []string{"first{", "second{"} {
		if b, _ := os.ReadFile(kept[i]); string(b) != want {
			t.Errorf("%s holds %q, want %q", kept[i], b, want)
		}
	}
}

func TestFileSymlinkIsNeverFollowed(t *testing.T) {
	t.Run("load moves the link aside and leaves the target alone", func(t *testing.T) {
		s, _ := newTestFile(t)
		target := filepath.Join(t.TempDir(), "elsewhere.json")
		if err := os.WriteFile(target, blob(1), 0o644); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(s.Dir(), "claude.json")
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load(context.Background(), "claude")
		var ce *CorruptError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "symlink") {
			t.Fatalf("Load through a symlink = %v, want a CorruptError naming the symlink", err)
		}
		if dest, err := os.Readlink(ce.KeptAs); err != nil || dest != target {
			t.Fatalf("kept-aside entry %q is not the original link (%q, %v)", ce.KeptAs, dest, err)
		}
		assertUntouched(t, target, blob(1), 0o644)
	})
	t.Run("save refuses and writes nothing", func(t *testing.T) {
		s, _ := newTestFile(t)
		target := filepath.Join(t.TempDir(), "elsewhere.json")
		if err := os.WriteFile(target, []byte("do not touch"), 0o644); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(s.Dir(), "claude.json")
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		err := s.Save(context.Background(), "claude", blob(2))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "symlink") {
			t.Fatalf("Save through a symlink = %v, want a CorruptError naming the symlink", err)
		}
		assertUntouched(t, target, []byte("do not touch"), 0o644)
		if dest, err := os.Readlink(path); err != nil || dest != target {
			t.Fatalf("the link itself was replaced (%q, %v)", dest, err)
		}
		entries, _ := os.ReadDir(s.Dir())
		if len(entries) != 1 {
			t.Fatalf("folder holds %d entries after a refused save, want just the link", len(entries))
		}
	})
	t.Run("delete removes the link, not the target", func(t *testing.T) {
		s, _ := newTestFile(t)
		target := filepath.Join(t.TempDir(), "elsewhere.json")
		if err := os.WriteFile(target, blob(1), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(s.Dir(), "claude.json")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(context.Background(), "claude"); err != nil {
			t.Fatal(err)
		}
		assertUntouched(t, target, blob(1), 0o644)
		assertList(t, s)
	})
}

func assertUntouched(t *testing.T, path string, content []byte, mode fs.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != string(content) {
		t.Fatalf("symlink target changed: %q, %v", b, err)
	}
	if got := perm(t, path); got != mode {
		t.Fatalf("symlink target mode changed to %o", got)
	}
}

func TestFileNonRegularEntriesAreCorrupt(t *testing.T) {
	cases := []struct {
		name string
		make func(path string) error
	}{
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestFile(t)
			path := filepath.Join(s.Dir(), "claude.json")
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load(context.Background(), "claude")
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load = %v, want ErrCorrupt", err)
			}
			if err := s.Save(context.Background(), "claude", blob(1)); err != nil {
				t.Fatalf("Save after the entry was moved aside = %v", err)
			}
		})
	}
}

func TestFileListIgnoresBookkeeping(t *testing.T) {
	s, _ := newTestFile(t)
	mustSave(t, s, "codex", blob(1))
	for _, name := range []string{
		".claude.json.tmp-123", "claude.json.corrupt-20261123T010203Z", "claude.lock",
		"README", "Claude.json", "notes.json.bak",
	} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.Dir(), "dir.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	assertList(t, s, "codex")
}

func TestFileSweepsOnlyStaleTempFiles(t *testing.T) {
	clk := clockwork.NewFakeClockAt(testClockStart)
	dir := t.TempDir()
	stale := filepath.Join(dir, ".claude.json.tmp-1")
	fresh := filepath.Join(dir, ".claude.json.tmp-2")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := testClockStart.Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	recent := testClockStart.Add(-time.Minute)
	if err := os.Chtimes(fresh, recent, recent); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFile(dir, withClock(clk)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file survived: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a recent temp file (maybe a live writer's) was removed: %v", err)
	}
}

func TestFileLockTimeoutNamesTheLockFile(t *testing.T) {
	s, clk := newTestFile(t)
	s.wait.timeout = 3 * time.Second
	lockPath := filepath.Join(s.Dir(), "claude.lock")
	other, err := lockWhileAnotherHolds(t, s, clk, lockPath, 3*time.Second)
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Lock = %v, want ErrLockTimeout", err)
	}
	if !strings.Contains(err.Error(), lockPath) || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("error %q should name the lock file and its holder", err)
	}

	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(context.Background(), "claude")
	if err != nil {
		t.Fatalf("Lock once the other holder left = %v", err)
	}
	unlock()
}

func TestFileLockWaitsForAnotherHolderToLeave(t *testing.T) {
	s, clk := newTestFile(t)
	other := flock.New(filepath.Join(s.Dir(), "claude.lock"))
	if ok, err := other.TryLock(); !ok || err != nil {
		t.Fatalf("other holder could not lock: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := s.Lock(context.Background(), "claude")
		if err == nil {
			u()
		}
		got <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(lockRetry)
	if err := <-got; err != nil {
		t.Fatalf("Lock after the holder left = %v", err)
	}
}

func TestFsErrorMapsPermission(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		wantPerm bool
	}{
		{"EACCES", &fs.PathError{Op: "open", Path: "/c/claude.json", Err: syscall.EACCES}, true},
		{"EPERM", &fs.PathError{Op: "rename", Path: "/c/claude.json", Err: syscall.EPERM}, true},
		{"ENOSPC", &fs.PathError{Op: "write", Path: "/c/claude.json", Err: syscall.ENOSPC}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := fsError("save claude", "/c/claude.json", tc.err)
			if errors.Is(err, ErrPermission) != tc.wantPerm {
				t.Fatalf("errors.Is(%v, ErrPermission) = %v, want %v", err, !tc.wantPerm, tc.wantPerm)
			}
			if !strings.Contains(err.Error(), "/c/claude.json") {
				t.Fatalf("error %q does not name the path", err)
			}
		})
	}
}

func TestFileLocationAndDefaultDir(t *testing.T) {
	home := t.TempDir()
	// Registered first so it runs last, after t.Setenv restored the environment.
	t.Cleanup(xdg.Reload)
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "cfg"))
	xdg.Reload()

	if got, want := DefaultDir(), filepath.Join(home, "cfg", "ccproxy-tui", "credentials"); got != want {
		t.Fatalf("DefaultDir = %q, want %q", got, want)
	}
	s, err := NewFile("")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Location("claude"); got != "~/cfg/ccproxy-tui/credentials/claude.json" {
		t.Fatalf("Location = %q", got)
	}
	if got := perm(t, DefaultDir()); got != 0o700 {
		t.Fatalf("default folder mode %o", got)
	}
}

func TestFileSaveKeepsACorruptFileAside(t *testing.T) {
	s, _ := newTestFile(t)
	path := filepath.Join(s.Dir(), "claude.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"access_tok`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, "claude", blob(5))
	kept, err := os.ReadFile(path + ".corrupt-20261123T010203Z")
	if err != nil || string(kept) != `{"version":1,"access_tok` {
		t.Fatalf("corrupt file was overwritten instead of kept aside (%v)", err)
	}
	got, err := s.Load(context.Background(), "claude")
	if err != nil || blobN(t, got) != 5 {
		t.Fatalf("Load after Save = %v", err)
	}
}

func TestFileLoadTightensALooseFile(t *testing.T) {
	s, _ := newTestFile(t)
	path := filepath.Join(s.Dir(), "claude.json")
	if err := os.WriteFile(path, blob(1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(context.Background(), "claude"); err != nil {
		t.Fatal(err)
	}
	if got := perm(t, path); got != 0o600 {
		t.Fatalf("mode after Load %o, want 600", got)
	}
}

func TestFileSetAsideLeavesANewcomerAlone(t *testing.T) {
	s, _ := newTestFile(t)
	path := filepath.Join(s.Dir(), "claude.json")
	if err := os.WriteFile(path, []byte("{corrupt"), 0o600); err != nil {
		t.Fatal(err)
	}
	judged, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Another process saves a good blob between the judging and the move.
	other, err := NewFile(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	mustSave(t, other, "claude", blob(9))
	if err := s.setAside("claude", path, judged, "not valid JSON"); !errors.Is(err, errReplaced) {
		t.Fatalf("setAside = %v, want errReplaced", err)
	}
	got, err := s.Load(context.Background(), "claude")
	if err != nil || blobN(t, got) != 9 {
		t.Fatalf("the newcomer was disturbed: Load = %v", err)
	}
}

// lockWhileAnotherHolds takes lockPath with a second flock, standing in for
// another process, then calls st.Lock("claude") and lets the fake clock run
// past timeout. It returns Lock's error and the other holder, still locked.
func lockWhileAnotherHolds(t *testing.T, st Store, clk *clockwork.FakeClock, lockPath string, timeout time.Duration) (*flock.Flock, error) {
	t.Helper()
	other := flock.New(lockPath)
	if ok, err := other.TryLock(); !ok || err != nil {
		t.Fatalf("other holder could not lock: %v", err)
	}
	t.Cleanup(func() { _ = other.Unlock() })
	got := make(chan error, 1)
	go func() {
		u, err := st.Lock(context.Background(), "claude")
		if err == nil {
			u()
		}
		got <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The deadline and the retry timer.
	if err := clk.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal("Lock never started polling:", err)
	}
	clk.Advance(timeout)
	return other, <-got
}

func TestCorruptFileIsKeptAsidePrivate(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "claude.json")
	// Unreadable JSON that may still hold a live refresh token.
	if err := os.WriteFile(path, []byte(`{"version":1,"refresh_token":"rt-live-1234`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = f.Load(context.Background(), "claude")
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.KeptAs == "" {
		t.Fatalf("Load = %v, want a CorruptError with KeptAs", err)
	}
	info, err := os.Stat(ce.KeptAs)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s kept at mode %04o, want 0600", ce.KeptAs, info.Mode().Perm())
	}
}

func TestPermissionFixesAreReported(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var fixes []PermissionFix
	f, err := NewFile(dir, WithPermissionReport(func(p PermissionFix) { fixes = append(fixes, p) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Save(context.Background(), "codex", []byte(`{"version":1}`)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "codex.json")
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.Load(context.Background(), "codex"); err != nil {
			t.Fatal(err)
		}
	}
	if len(fixes) != 2 || fixes[0].Path != dir || fixes[0].Was != 0o755 || fixes[1].Path != path || fixes[1].Was != 0o640 || fixes[1].Now != 0o600 {
		t.Fatalf("fixes = %+v, want the folder (0755) and the file (0640), once each", fixes)
	}
}
