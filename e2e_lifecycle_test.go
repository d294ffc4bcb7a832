package main_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// TestServeFollowsAnotherProcessWithinASecond: with serve running, `auth
// logout` in another process makes the proxy answer 401 within a second,
// and a login written by another process is served within a second too.
func TestServeFollowsAnotherProcessWithinASecond(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(ctx, t)

	idp := fake.NewOAuthServer(fake.WithClientID("ccproxy"))
	defer idp.Close()
	up := fake.NewUpstream(fake.UpstreamOptions{Accept: idp.ValidAccessToken})
	upstream := httptest.NewServer(up)
	defer upstream.Close()

	h := newE2EHome(t, dir, corpConfig(idp.Issuer(), upstream.URL))
	credsDir, env := h.credsDir, h.env

	// This test process plays the other process that logs in: it writes
	// the record through the file store, as `auth login` would.
	disk, err := store.NewFile(credsDir)
	if err != nil {
		t.Fatal(err)
	}
	login := func() {
		t.Helper()
		c := auth.Credentials{Provider: "corp", AccessToken: "stale-access-token-0123456789abcdef",
			RefreshToken: idp.IssueRefreshToken("ccproxy", ""), ExpiresAt: time.Now().Add(-time.Minute), ObtainedAt: time.Now().Add(-time.Hour)}
		blob, _ := c.Marshal()
		if err := disk.Save(ctx, "corp", blob); err != nil {
			t.Fatal(err)
		}
	}
	login()

	srv := startServe(ctx, t, bin, env)
	proxyURL, serveErr := srv.url, srv.stderr
	request := func() int {
		t.Helper()
		resp, err := http.Post(proxyURL+"/corp/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// waitLog waits for serve to log a line containing s and returns how
	// long after since that was.
	waitLog := func(s string, since time.Time) time.Duration {
		t.Helper()
		srv.waitLog(ctx, t, regexp.MustCompile(regexp.QuoteMeta(s)))
		return time.Since(since)
	}
	if code := request(); code != http.StatusOK {
		t.Fatalf("before the logout: %d\n%s", code, serveErr)
	}

	logout := exec.CommandContext(ctx, bin, "auth", "logout", "corp", "--yes")
	logout.Env = env
	if out, err := logout.CombinedOutput(); err != nil {
		t.Fatalf("auth logout: %v\n%s", err, out)
	}
	loggedOut := waitLog("logged out in another process", time.Now())
	if code := request(); code != http.StatusUnauthorized {
		t.Fatalf("after the logout the proxy answered %d, want 401", code)
	}

	written := time.Now()
	login()
	loggedIn := waitLog("logged in in another process", written)
	if code := request(); code != http.StatusOK {
		t.Fatalf("after a login elsewhere the proxy answered %d, want 200\n%s", code, serveErr)
	}
	t.Logf("serve saw the logout %v after `auth logout` exited, and a login %v after it was written",
		loggedOut.Round(time.Millisecond), loggedIn.Round(time.Millisecond))
	for name, d := range map[string]time.Duration{"logout": loggedOut, "login": loggedIn} {
		if d > time.Second {
			t.Errorf("serve took %v to see the %s made by another process, want < 1s", d, name)
		}
	}
	if up.Refused() != 0 {
		t.Errorf("the API was sent %d dead tokens", up.Refused())
	}
}
