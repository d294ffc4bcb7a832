package logging

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/adrg/xdg"
	"gopkg.in/natefinch/lumberjack.v2"
)

// FileName is the log file's name inside its folder.
const FileName = "ccproxy-tui.log"

// The log's size cap: the file is rotated at MaxSizeMB, and MaxBackups
// rotated files are kept, so the log never takes more than about
// (MaxBackups+1) × MaxSizeMB.
const (
	MaxSizeMB  = 10
	MaxBackups = 3
)

// DefaultDir is where the log lives: $XDG_STATE_HOME/ccproxy-tui.
func DefaultDir() string { return filepath.Join(xdg.StateHome, "ccproxy-tui") }

// OpenFile opens the log in DefaultDir for appending; see OpenFileIn.
func OpenFile() (io.WriteCloser, string, error) { return OpenFileIn(DefaultDir()) }

// OpenFileIn opens dir/ccproxy-tui.log for appending, size-capped and
// rotated (lumberjack: MaxSizeMB per file, MaxBackups old files kept),
// creating the folder 0700 and the file 0600 whatever the umask (a log may
// still hold account names and URLs), and refusing a symlink at the file's
// path. Rotated files keep the 0600. It returns the writer and the path;
// the caller closes the writer.
func OpenFileIn(dir string) (io.WriteCloser, string, error) {
	path, err := prepare(dir)
	if err != nil {
		return nil, "", err
	}
	return &lumberjack.Logger{Filename: path, MaxSize: MaxSizeMB, MaxBackups: MaxBackups}, path, nil
}

// prepare makes the folder and the file private and refuses a symlink, so
// the rotating writer, which opens by name, finds a private regular file.
func prepare(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create log folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("restrict log folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return "", fmt.Errorf("open log %s: it is a symlink, which is never followed", path)
	}
	if err != nil {
		return "", fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return "", fmt.Errorf("restrict log %s: %w", path, err)
	}
	return path, nil
}
