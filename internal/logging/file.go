package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/adrg/xdg"
)

// FileName is the log file's name inside its folder.
const FileName = "ccproxy-tui.log"

// DefaultDir is where the log lives: $XDG_STATE_HOME/ccproxy-tui.
func DefaultDir() string { return filepath.Join(xdg.StateHome, "ccproxy-tui") }

// OpenFile opens the log in DefaultDir for appending; see OpenFileIn.
func OpenFile() (*os.File, string, error) { return OpenFileIn(DefaultDir()) }

// OpenFileIn opens dir/ccproxy-tui.log for appending, creating the folder
// 0700 and the file 0600 whatever the umask (a log may still hold account
// names and URLs), and refusing a symlink at the file's path. It returns
// the file and its path; the caller closes the file.
func OpenFileIn(dir string) (*os.File, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("create log folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("restrict log folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, "", fmt.Errorf("open log %s: it is a symlink, which is never followed", path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("open log: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return nil, "", fmt.Errorf("restrict log %s: %w", path, err)
	}
	return f, path, nil
}
