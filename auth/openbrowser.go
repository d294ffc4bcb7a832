package auth

import (
	"os"
	"runtime"
	"sync"

	"github.com/pkg/browser"
)

// OpenBrowser opens url in the user's browser when there is one. On Linux
// without DISPLAY or WAYLAND_DISPLAY (ssh, containers) it does not try and
// returns false, so the caller relies on the URL it prints. The URL is
// always the caller's to show; this only saves a click.
func OpenBrowser(url string) (opened bool, err error) {
	if !hasDisplay(runtime.GOOS, os.Getenv) {
		return false, nil
	}
	// pkg/browser echoes the launcher's output to os.Stdout/os.Stderr by
	// default, which would scribble over a TUI.
	quietBrowser.Do(func() { browser.Stdout, browser.Stderr = nil, nil })
	if err := browser.OpenURL(url); err != nil {
		return false, err
	}
	return true, nil
}

// hasDisplay reports whether a graphical browser could show up.
func hasDisplay(goos string, getenv func(string) string) bool {
	switch goos {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
	}
	return true
}

// quietBrowser silences pkg/browser's globals once, before the first launch.
var quietBrowser sync.Once
