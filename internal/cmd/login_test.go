package cmd

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

// playBrowser opens the authorize URL the way a browser would, following
// the redirect back to the loopback callback, and returns the code it
// carried so the test can check it is never shown.
func playBrowser(t *testing.T, authorizeURL string) string {
	t.Helper()
	var code string
	client := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if c := r.URL.Query().Get("code"); c != "" {
			code = c
		}
		return nil
	}}
	resp, err := client.Get(authorizeURL)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback page: %s", resp.Status)
	}
	if code == "" {
		t.Fatal("the browser never reached the callback with a code")
	}
	return code
}

func TestLoginNoBrowserCompletesThroughTheCallback(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	done := h.runAsync(ctx, "auth", "login", "corp", "--no-browser")

	authorize := h.errOut.waitFor(ctx, t, urlRE)
	h.errOut.waitFor(ctx, t, regexp.MustCompile(`Waiting for the browser…`))
	h.secret(playBrowser(t, authorize))

	if code := <-done; code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, h.errOut)
	}
	c := h.stored("corp")
	if c.Email != "ada@example.com" {
		t.Errorf("stored account = %q", c.Email)
	}
	if !regexp.MustCompile(`✓ Logged in to corp as ada@example.com \(expires in (59m|1h0m)\)`).MatchString(h.errOut.String()) {
		t.Errorf("no success line; stderr:\n%s", h.errOut)
	}
	t.Logf("stderr:\n%s", h.errOut)
	if len(h.opened) != 0 {
		t.Errorf("--no-browser opened %v", h.opened)
	}
	if h.out.String() != "" {
		t.Errorf("login wrote to stdout: %q", h.out)
	}
	if !strings.Contains(h.log.String(), "login succeeded") {
		t.Errorf("log does not record the login:\n%s", h.log)
	}

	t.Run("token prints only the access token", func(t *testing.T) {
		before := h.errOut.String()
		if code := h.run(ctx, "auth", "token", "corp"); code != 0 {
			t.Fatalf("exit %d: %s", code, h.errOut)
		}
		if h.out.String() != c.AccessToken+"\n" {
			t.Fatalf("stdout is not exactly the token")
		}
		if h.errOut.String() != before {
			t.Errorf("token wrote to stderr: %q", strings.TrimPrefix(h.errOut.String(), before))
		}
		h.out.buf.Reset()
	})
	h.assertNoSecrets()
}

func TestLoginOpensTheBrowserByDefault(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	done := h.runAsync(ctx, "auth", "login", "corp")
	authorize := h.errOut.waitFor(ctx, t, urlRE)
	h.errOut.waitFor(ctx, t, regexp.MustCompile(`Waiting for the browser…`))
	h.mu.Lock()
	opened := slices.Clone(h.opened)
	h.mu.Unlock()
	if len(opened) != 1 || opened[0] != authorize {
		t.Errorf("opened %v, want the printed URL", opened)
	}
	h.secret(playBrowser(t, authorize))
	if code := <-done; code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, h.errOut)
	}
	h.stored("corp")
	h.assertNoSecrets()
}

func TestLoginOverSSHPrintsThePortForward(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	h.env["SSH_CONNECTION"] = "203.0.113.5 51000 198.51.100.7 2222"
	h.env["USER"] = "ada"
	done := h.runAsync(ctx, "auth", "login", "corp", "--no-browser")
	authorize := h.errOut.waitFor(ctx, t, urlRE)
	fwd := h.errOut.waitFor(ctx, t, regexp.MustCompile(`ssh -L (\d+):127\.0\.0\.1:\d+ -p 2222 ada@198\.51\.100\.7`))
	u, _ := url.Parse(authorize)
	cb, _ := url.Parse(u.Query().Get("redirect_uri"))
	if cb.Port() != fwd {
		t.Errorf("forwards port %s, callback is on %s", fwd, cb.Port())
	}
	if !strings.Contains(h.errOut.String(), "--paste or --device") {
		t.Errorf("no reminder of --paste/--device:\n%s", h.errOut)
	}
	h.secret(playBrowser(t, authorize))
	if code := <-done; code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, h.errOut)
	}
	h.stored("corp")
	h.assertNoSecrets()
}

func TestLoginDeviceCompletesAfterApproval(t *testing.T) {
	ctx := testContext(t)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC))
	h := newHarness(t, clock, fake.WithManualApproval())
	done := h.runAsync(ctx, "auth", "login", "corp", "--device")

	userCode := h.errOut.waitFor(ctx, t, regexp.MustCompile(`one-time code: (\S+)`))
	h.errOut.waitFor(ctx, t, regexp.MustCompile(`Waiting for approval…`))
	// Let it poll (and be told to wait) once before approving.
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	h.srv.Approve(userCode)

	var code int
	for finished := false; !finished; {
		select {
		case code = <-done:
			finished = true
		default:
			bctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			if clock.BlockUntilContext(bctx, 1) == nil {
				clock.Advance(time.Second)
			}
			cancel()
		}
	}
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, h.errOut)
	}
	if !strings.Contains(h.errOut.String(), "✓ Logged in to corp as ada@example.com (expires in 1h0m)") {
		t.Errorf("stderr:\n%s", h.errOut)
	}
	h.stored("corp")
	h.assertNoSecrets()
}

func TestLoginPasteReadsTheCodeFromStdin(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	r, w := io.Pipe()
	h.stdin = r
	done := h.runAsync(ctx, "auth", "login", "corp", "--paste", "--no-browser")

	authorize := h.errOut.waitFor(ctx, t, urlRE)
	h.errOut.waitFor(ctx, t, regexp.MustCompile(`Paste the code`))
	// The user approves in a browser that cannot reach the callback and
	// copies the code from the address bar.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize did not redirect with a code: %s %q", resp.Status, resp.Header.Get("Location"))
	}
	code := loc.Query().Get("code")
	h.secret(code)
	go func() { io.WriteString(w, code+"\n") }()

	if exit := <-done; exit != 0 {
		t.Fatalf("exit %d; stderr:\n%s", exit, h.errOut)
	}
	w.Close()
	h.stored("corp")
	if !strings.Contains(h.errOut.String(), "✓ Logged in to corp as ada@example.com") {
		t.Errorf("stderr:\n%s", h.errOut)
	}
	h.assertNoSecrets()
}

func TestLoginCancelledByContextFreesThePort(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(testContext(t))
	done := h.runAsync(ctx, "auth", "login", "corp", "--no-browser")
	authorize := h.errOut.waitFor(testContext(t), t, urlRE)
	cancel()
	if code := <-done; code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	u, _ := url.Parse(authorize)
	cb := u.Query().Get("redirect_uri")
	if resp, err := http.Get(cb); err == nil {
		resp.Body.Close()
		t.Errorf("callback %s still answers after cancel", cb)
	}
	if !strings.Contains(h.errOut.String(), "cancel") {
		t.Errorf("stderr does not say it was cancelled:\n%s", h.errOut)
	}
}

func TestStatusJSONHasExactlyTheDesignFields(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	done := h.runAsync(ctx, "auth", "login", "corp", "--no-browser")
	h.secret(playBrowser(t, h.errOut.waitFor(ctx, t, urlRE)))
	if code := <-done; code != 0 {
		t.Fatalf("login exit %d: %s", code, h.errOut)
	}
	c := h.stored("corp")
	h.out.buf.Reset()

	if code := h.run(ctx, "auth", "status", "corp", "--json"); code != 0 {
		t.Fatalf("status exit %d: %s", code, h.errOut)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(h.out.String()), &list); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, h.out)
	}
	if len(list) != 1 {
		t.Fatalf("%d elements", len(list))
	}
	want := []string{"provider", "authenticated", "account_id", "email", "plan", "expires_at", "expires_in",
		"access_token_preview", "refresh_token_preview", "scopes", "storage", "last_refresh", "last_error", "account", "active"}
	var got []string
	for k := range list[0] {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("fields = %v\nwant     %v (reason only when not authenticated)", got, want)
	}
	e := list[0]
	if e["provider"] != "corp" || e["authenticated"] != true || e["email"] != "ada@example.com" {
		t.Errorf("element = %v", e)
	}
	if p, _ := e["access_token_preview"].(string); p == "" || p == c.AccessToken || !strings.Contains(p, "...") {
		t.Errorf("access_token_preview = %q", p)
	}
	if _, err := time.Parse(time.RFC3339, e["expires_at"].(string)); err != nil {
		t.Errorf("expires_at: %v", err)
	}
	if n, _ := e["expires_in"].(float64); n <= 0 || n > 3600 {
		t.Errorf("expires_in = %v", e["expires_in"])
	}

	t.Run("all providers, not logged in ones carry a reason", func(t *testing.T) {
		h.out.buf.Reset()
		if code := h.run(ctx, "auth", "status", "--json"); code != 0 {
			t.Fatalf("exit %d", code)
		}
		var all []map[string]any
		if err := json.Unmarshal([]byte(h.out.String()), &all); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range all {
			names = append(names, e["provider"].(string))
			if e["authenticated"] == false && e["reason"] == "" {
				t.Errorf("%v has no reason", e["provider"])
			}
		}
		if !slices.Equal(names, []string{"claude", "codex", "copilot", "corp"}) {
			t.Errorf("providers = %v", names)
		}
	})

	t.Run("human table", func(t *testing.T) {
		h.out.buf.Reset()
		if code := h.run(ctx, "auth", "status"); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if !regexp.MustCompile(`corp\s+\* ada@example.com\s+(logged in|expiring)\s+ada@example.com\s+(59m|1h0m)\s+\S+\.\.\.\S+`).MatchString(h.out.String()) {
			t.Errorf("table:\n%s", h.out)
		}
	})

	t.Run("logout", func(t *testing.T) {
		if code := h.run(ctx, "auth", "logout", "corp"); code != 0 {
			t.Fatalf("exit %d: %s", code, h.errOut)
		}
		if code := h.run(ctx, "auth", "status", "corp"); code != 1 {
			t.Errorf("status after logout exit %d, want 1", code)
		}
	})
	h.assertNoSecrets()
}
