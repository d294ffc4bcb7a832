package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
)

// The dashboard hears of a loosened credentials file through the bus.
func TestPermissionFixReachesTheBus(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Store.Dir = dir
	a, err := New(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	c := auth.Credentials{Version: 1, Provider: "claude", AccessToken: "sk-ant-oat01-abc-123456", ExpiresAt: time.Now().Add(time.Hour)}
	if _, err := a.Adopt(context.Background(), "", c); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "claude@default.json")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := New(Options{Config: cfg}) // a second start reads the file afresh
	eventsB, cancelB := b.AuthEvents(16)
	defer cancelB()
	b.Status(context.Background(), "claude")
	var got []string
	for len(eventsB) > 0 {
		if e := <-eventsB; e.Kind == auth.PermissionsFixed {
			got = append(got, e.Provider+": "+e.Message)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "claude: "+path+" was mode 0644") {
		t.Errorf("permission events = %q", got)
	}
	if n := b.PermissionNotices(); len(n) != 1 || len(b.PermissionNotices()) != 0 {
		t.Errorf("notices = %q, want one, handed out once", n)
	}
}

// A folder fixed while the app was being built is shown once the
// dashboard, subscribed before Run, starts it.
func TestPermissionFixAtTheStartReachesTheDashboard(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Store.Dir = dir
	a, err := New(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := a.AuthEvents(64)
	defer cancel()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	defer func() { stop(); <-done }()
	bound := time.NewTimer(10 * time.Second) // a bound, not a wait: the event comes at once
	defer bound.Stop()
	for {
		select {
		case e := <-events:
			if e.Kind == auth.PermissionsFixed {
				if !strings.Contains(e.Message, dir+" was mode 0755") {
					t.Errorf("event %q", e.Message)
				}
				return
			}
		case <-bound.C:
			t.Fatal("the start's permission fix never reached the dashboard")
		}
	}
}
