package cmd

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLoginFallsBackToPasteWhenTheCallbackPortIsBusy points Claude (which
// offers a pasted-code login) at the fake with a callback port another
// program holds: the login must switch to pasting instead of failing.
func TestLoginFallsBackToPasteWhenTheCallbackPortIsBusy(t *testing.T) {
	ctx := testContext(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	h := newHarness(t, nil, fake.WithTokenExtras(map[string]any{
		"account": map[string]any{"uuid": "acct-1", "email_address": "max@example.com"},
	}))
	h.writeConfig(fmt.Sprintf(`
[providers.claude]
client_id = "ccproxy"
authorize_url = %q
token_url = %q
redirect_url = "http://127.0.0.1:%d/callback"
`, h.srv.AuthURL(), h.srv.TokenURL(), busy.Addr().(*net.TCPAddr).Port))
	r, w := newPipe(t)
	h.stdin = r
	done := h.runAsync(ctx, "auth", "login", "claude", "--no-browser")

	h.errOut.waitFor(ctx, t, regexp.MustCompile(`held by another program(?s:.*)Switching to a pasted-code login through claude's own code page`))
	authorize := h.errOut.waitFor(ctx, t, urlRE)
	// The program holding the port must never be sent the code.
	au, _ := url.Parse(authorize)
	if got := au.Query().Get("redirect_uri"); strings.Contains(got, "127.0.0.1") || !strings.HasPrefix(got, "https://") {
		t.Fatalf("paste fallback redirects to %q; the squatter on the busy port would receive the code", got)
	}
	h.errOut.waitFor(ctx, t, regexp.MustCompile(`Paste the code`))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code, state := loc.Query().Get("code"), loc.Query().Get("state")
	if code == "" {
		t.Fatalf("no code in %q", resp.Header.Get("Location"))
	}
	h.secret(code)
	// Claude's hosted page shows CODE#STATE.
	go w.WriteString(code + "#" + state + "\n")
	if exit := <-done; exit != 0 {
		t.Fatalf("exit %d; stderr:\n%s", exit, h.errOut)
	}
	if !strings.Contains(h.errOut.String(), "✓ Logged in to claude as max@example.com") {
		t.Errorf("stderr:\n%s", h.errOut)
	}
	h.stored("claude")
	h.assertNoSecrets()
}

func TestImportAdoptsTheOfficialCLIsCredentials(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	h := newHarness(t, clockwork.NewFakeClockAt(now))
	home := t.TempDir()
	access := "sk-ant-oat01-imported-access-token-for-the-cli-test-0001"
	refresh := "sk-ant-ort01-imported-refresh-token-for-the-cli-test-0001"
	h.secret(access, refresh)
	os.MkdirAll(filepath.Join(home, ".claude"), 0o700)
	blob := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":%q,"refreshToken":%q,"expiresAt":%d,"scopes":["user:inference"],"subscriptionType":"max"}}`,
		access, refresh, now.Add(3*time.Hour).UnixMilli())
	if err := os.WriteFile(filepath.Join(home, ".claude", ".credentials.json"), []byte(blob), 0o600); err != nil {
		t.Fatal(err)
	}

	f := h.factory()
	f.ImportOptions.Home = home
	f.ImportOptions.Getenv = func(string) string { return "" }
	root := NewCmdRoot(f, nil)
	root.SetContext(testContext(t))
	// Without a terminal to ask on, import refuses unless --yes says so.
	if code := Execute(root, []string{"auth", "import", "claude"}, h.errOut, f.Logger); code != 2 || !strings.Contains(h.errOut.String(), "--yes") {
		t.Fatalf("exit %d without --yes and a terminal: %s", code, h.errOut)
	}

	root = NewCmdRoot(f, nil)
	root.SetContext(testContext(t))
	if code := Execute(root, []string{"auth", "import", "claude", "--yes"}, h.errOut, f.Logger); code != 0 {
		t.Fatalf("exit %d: %s", code, h.errOut)
	}
	stderr := h.errOut.String()
	warn := strings.Index(stderr, "! ")
	done := strings.Index(stderr, "✓ Imported claude from ")
	if warn < 0 || done < 0 || warn > done {
		t.Errorf("the warning must come before the import:\n%s", stderr)
	}
	if !strings.Contains(stderr, "(expires in 3h0m)") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if c := h.stored("claude"); c.AccessToken != access || c.RefreshToken != refresh {
		t.Errorf("stored credentials are not the imported ones")
	}

	t.Run("nothing to import", func(t *testing.T) {
		f := h.factory()
		f.ImportOptions.Home = t.TempDir()
		f.ImportOptions.Getenv = func(string) string { return "" }
		if code := Execute(NewCmdRoot(f, nil), []string{"auth", "import"}, h.errOut, f.Logger); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})
	h.assertNoSecrets()
}
