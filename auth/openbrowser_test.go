package auth

import (
	"os"
	"runtime"
	"testing"
)

func TestHasDisplay(t *testing.T) {
	tests := []struct {
		name string
		goos string
		env  map[string]string
		want bool
	}{
		{"linux over ssh", "linux", nil, false},
		{"linux X11", "linux", map[string]string{"DISPLAY": ":0"}, true},
		{"linux Wayland", "linux", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, true},
		{"freebsd headless", "freebsd", nil, false},
		{"macOS", "darwin", nil, true},
		{"windows", "windows", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasDisplay(tc.goos, func(k string) string { return tc.env[k] }); got != tc.want {
				t.Errorf("hasDisplay = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOpenBrowserHeadless(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	if hasDisplay(runtime.GOOS, os.Getenv) {
		// macOS and Windows always have a browser; launching one in a test
		// would be rude, and the rule itself is covered above.
		return
	}
	opened, err := OpenBrowser("http://127.0.0.1:1/never-opened")
	if opened || err != nil {
		t.Errorf("OpenBrowser without a display = %v, %v; want false, nil", opened, err)
	}
}
