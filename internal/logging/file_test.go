package logging

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/adrg/xdg"
)

// TestOpenFileModesUnderAnyUmask is not parallel: the umask is process-wide.
func TestOpenFileModesUnderAnyUmask(t *testing.T) {
	for _, mask := range []int{0o000, 0o077} {
		t.Run(fmt.Sprintf("umask %03o", mask), func(t *testing.T) {
			old := syscall.Umask(mask)
			defer syscall.Umask(old)
			dir := filepath.Join(t.TempDir(), "state", "ccproxy-tui")
			f, path, err := OpenFileIn(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if path != filepath.Join(dir, FileName) {
				t.Fatalf("path = %q", path)
			}
			for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
				info, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := info.Mode().Perm(); got != want {
					t.Errorf("%s: mode %o, want %o", p, got, want)
				}
			}
		})
	}
}

func TestOpenFileAppendsAndTightensALooseFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("first run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	f, _, err := OpenFileIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	New(f, Options{}).Info("second run", "access_token", tok)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if !strings.HasPrefix(out, "first run\n") || !strings.Contains(out, "second run") {
		t.Fatalf("log was not appended to:\n%s", out)
	}
	if strings.Contains(out, tok) {
		t.Fatalf("secret reached the log file:\n%s", out)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("existing log left at mode %o", info.Mode().Perm())
	}
}

func TestOpenFileRefusesASymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	if f, _, err := OpenFileIn(dir); err == nil {
		f.Close()
		t.Fatal("OpenFileIn followed a symlink")
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Fatalf("symlink target changed: %q", b)
	}
}

func TestOpenFileUsesXDGStateHome(t *testing.T) {
	state := t.TempDir()
	t.Cleanup(xdg.Reload) // registered first, so it runs after the env is restored
	t.Setenv("XDG_STATE_HOME", state)
	xdg.Reload()
	f, path, err := OpenFile()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if want := filepath.Join(state, "ccproxy-tui", "ccproxy-tui.log"); path != want {
		t.Fatalf("OpenFile path = %q, want %q", path, want)
	}
}
