package cmd

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
)

func TestRootRunsTheDashboardHook(t *testing.T) {
	tests := []struct {
		name     string
		argv     []string
		demoApp  bool
		code     int
		wantDemo bool
		stderr   string
	}{
		{"dashboard", nil, false, 0, false, ""},
		{"demo", []string{"--demo"}, true, 0, true, ""},
		{"demo not built in", []string{"--demo"}, false, 1, false, "--demo is not built into this binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			f := h.factory()
			f.IO.SetStdinTTY(true)
			f.IO.SetStdoutTTY(true)
			var got *DashboardOptions
			f.RunDashboard = func(_ context.Context, o DashboardOptions) error {
				got = &o
				return nil
			}
			released := false
			if tt.demoApp {
				f.DemoApp = func(context.Context) (*app.App, func(), error) {
					a, err := f.App(nil)
					return a, func() { released = true }, err
				}
			}
			root := NewCmdRoot(f, nil)
			root.SetContext(testContext(t))
			if code := Execute(root, tt.argv, h.errOut, f.Logger); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, h.errOut)
			}
			if !strings.Contains(h.errOut.String(), tt.stderr) {
				t.Errorf("stderr %q", h.errOut)
			}
			if tt.code != 0 {
				return
			}
			if got == nil || got.App == nil || got.Demo != tt.wantDemo {
				t.Fatalf("RunDashboard got %+v", got)
			}
			if tt.demoApp && !released {
				t.Error("the demo's fakes were not released")
			}
		})
	}
	t.Run("no dashboard built in", func(t *testing.T) {
		h := newHarness(t, nil)
		if code := h.run(testContext(t)); code != 1 || !strings.Contains(h.errOut.String(), "dashboard is not built") {
			t.Errorf("exit %d: %s", code, h.errOut)
		}
	})
	t.Run("no terminal says what to run instead", func(t *testing.T) {
		h := newHarness(t, nil)
		f := h.factory()
		f.RunDashboard = func(context.Context, DashboardOptions) error {
			t.Error("dashboard started without a terminal")
			return nil
		}
		code := Execute(NewCmdRoot(f, nil), []string{"--demo"}, h.errOut, f.Logger)
		if code != 2 || !strings.Contains(h.errOut.String(), "ccproxy-tui serve") || !strings.Contains(h.errOut.String(), "auth status") {
			t.Errorf("exit %d: %q", code, h.errOut)
		}
	})
	t.Run("dashboard error", func(t *testing.T) {
		h := newHarness(t, nil)
		f := h.factory()
		f.IO.SetStdinTTY(true)
		f.IO.SetStdoutTTY(true)
		f.RunDashboard = func(context.Context, DashboardOptions) error { return errors.New("dashboard: terminal too small") }
		if code := Execute(NewCmdRoot(f, nil), nil, h.errOut, f.Logger); code != 1 || h.errOut.String() != "dashboard: terminal too small\n" {
			t.Errorf("exit %d: %q", code, h.errOut)
		}
	})
}

func TestVersionReadsBuildInfo(t *testing.T) {
	h := newHarness(t, nil)
	opts := &VersionOptions{IO: h.factory().IO, BuildInfo: func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-23T00:00:00Z"}}}, true
	}}
	if err := versionRun(opts); err != nil {
		t.Fatal(err)
	}
	want := "ccproxy-tui v1.2.3\n  commit 0123456789ab 2026-11-23T00:00:00Z\n  go1.26.8\n"
	if h.out.String() != want {
		t.Errorf("got %q, want %q", h.out, want)
	}
}
