package dashboard

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/cmd"
	"github.com/ccproxy-tui/ccproxy-tui/internal/demo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOptionsDriveTheApp builds the dashboard's options for the demo app
// and drives them as the dashboard does: statuses, the flows each row
// offers, the exports, a refresh, and a whole browser login through the
// demo's pretend browser.
func TestOptionsDriveTheApp(t *testing.T) {
	ctx := context.Background()
	a, stop, err := demo.App(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	o := options(cmd.DashboardOptions{App: a, Demo: true}, nil, nil)

	var names []string
	for _, s := range o.Backend.Statuses(ctx) {
		names = append(names, s.Provider)
	}
	if !slices.Equal(names, []string{"claude-demo", "codex-demo", "copilot-demo"}) {
		t.Errorf("statuses for %v", names)
	}
	p, err := a.Provider("copilot-demo")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Flows("copilot-demo"); !slices.Equal(got, p.Flows) || got[0] != auth.FlowDevice {
		t.Errorf("copilot-demo offers %v, its provider %v (device first)", got, p.Flows)
	}
	if got := o.Flows("no-such"); got != nil {
		t.Errorf("an unknown provider offers %v", got)
	}
	if env := o.Env("http://127.0.0.1:9999"); !strings.Contains(env, "ANTHROPIC_BASE_URL='http://127.0.0.1:9999/claude-demo'") {
		t.Errorf("exports:\n%s", env)
	}
	if err := o.Backend.Refresh(ctx, "codex-demo"); err != nil {
		t.Errorf("refresh: %v", err)
	}

	l, err := o.Backend.StartBrowserLogin(ctx, "claude-demo")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() { done <- l.Wait(ctx) }()
	if ok, err := o.OpenBrowser(l.URL()); !ok || err != nil {
		t.Fatalf("the demo browser did not open the login: %v %v", ok, err)
	}
	if err := <-done; err != nil {
		t.Errorf("login: %v", err)
	}
}
