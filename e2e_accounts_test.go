package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

// TestAccountsEndToEnd: two accounts of one provider logged in through the
// CLI, routed by name and by the active account, and a switch made by
// another process changes the token the upstream receives within a second.
func TestAccountsEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(ctx, t)

	idp := fake.NewOAuthServer(fake.WithClientID("ccproxy"), fake.WithIdentity("user-42", "ada@example.com"))
	defer idp.Close()
	up := fake.NewUpstream(fake.UpstreamOptions{Record: true, Accept: idp.ValidAccessToken})
	upstream := httptest.NewServer(up)
	defer upstream.Close()

	h := newE2EHome(t, dir, corpConfig(idp.Issuer(), upstream.URL))
	env := h.env

	srv := startServe(ctx, t, bin, env)
	proxyURL, serveErr := srv.url, srv.stderr
	waitLog := func(re *regexp.Regexp) string {
		t.Helper()
		return srv.waitLog(ctx, t, re)
	}

	// Two logins through the CLI, the test playing the browser each time.
	login := func(account string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, "auth", "login", "corp", "--no-browser", "--account", account)
		cmd.Env = env
		out := &syncBuffer{}
		lr, lw := io.Pipe()
		cmd.Stdout = out
		cmd.Stderr = io.MultiWriter(out, lw)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait(); lw.Close() }()
		authorize := waitLine(t, lr, regexp.MustCompile(`^  (http://\S+/authorize\?\S+)$`))
		go io.Copy(io.Discard, lr)
		resp, err := http.Get(authorize)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if err := <-done; err != nil {
			t.Fatalf("login %s: %v\n%s", account, err, out)
		}
		if !strings.Contains(out.String(), "corp account "+account+" is now active") {
			t.Errorf("login %s output:\n%s", account, out)
		}
	}
	login("home")
	login("work")

	request := func(route string) string {
		t.Helper()
		before := len(up.Requests())
		resp, err := http.Post(proxyURL+route+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s answered %d\n%s", route, resp.StatusCode, serveErr)
		}
		seen := up.Requests()
		if len(seen) != before+1 {
			t.Fatalf("%s: the upstream saw %d requests, want one", route, len(seen)-before)
		}
		return strings.TrimPrefix(seen[len(seen)-1].Header.Get("Authorization"), "Bearer ")
	}
	homeToken, workToken := request("/corp@home"), request("/corp@work")
	if homeToken == "" || homeToken == workToken {
		t.Fatal("the two accounts did not send two different tokens")
	}
	if got := request("/corp"); got != workToken {
		t.Fatalf("/corp/ used the home token; want the account logged in last (work)")
	}

	switched := time.Now()
	if out, err := runCmd(ctx, bin, env, "auth", "switch", "corp", "home"); err != nil {
		t.Fatalf("auth switch: %v\n%s", err, out)
	}
	exited := time.Now()
	waitLog(regexp.MustCompile(`event=switched account=home`))
	seen := time.Since(exited)
	if got := request("/corp"); got != homeToken {
		t.Fatalf("after the switch elsewhere, /corp/ still used the work token")
	}
	t.Logf("serve followed a switch made by another process %v after it exited (%v after it started)",
		seen.Round(time.Millisecond), time.Since(switched).Round(time.Millisecond))
	if seen > time.Second {
		t.Errorf("serve took %v to follow the switch, want < 1s", seen)
	}
	if got := request("/corp@work"); got != workToken {
		t.Errorf("/corp@work/ changed with the switch")
	}

	out, err := runCmd(ctx, bin, env, "auth", "status", "--json")
	if err != nil {
		t.Fatalf("auth status: %v\n%s", err, out)
	}
	var list []struct {
		Provider, Account string
		Active            bool
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	var corp []string
	for _, st := range list {
		if st.Provider == "corp" {
			corp = append(corp, fmt.Sprintf("%s:%v", st.Account, st.Active))
		}
	}
	if strings.Join(corp, " ") != "home:true work:false" {
		t.Errorf("status lists corp accounts %q, want home active and work", corp)
	}
	if up.Refused() != 0 {
		t.Errorf("the API was sent %d dead tokens", up.Refused())
	}
}

// TestReleasedCredentialsNeedNoLogin: the credentials folder the released
// build wrote is read by this one as each provider's active account.
func TestReleasedCredentialsNeedNoLogin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(ctx, t)
	cfgHome := filepath.Join(dir, "config")
	creds := filepath.Join(cfgHome, "ccproxy-tui", "credentials")
	if err := os.MkdirAll(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("testdata", "released-v1", "credentials")
	for _, p := range []string{"claude", "codex", "copilot"} {
		b, err := os.ReadFile(filepath.Join(src, p+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(creds, p+".json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append(cleanEnv(), "HOME="+filepath.Join(dir, "home"), "XDG_CONFIG_HOME="+cfgHome,
		"XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	out, _ := runCmd(ctx, bin, env, "auth", "status", "--json")
	var list []struct {
		Provider, Account, Email string
		Active                   bool
		Refresh                  string `json:"refresh_token_preview"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	want := map[string]string{"claude": "ada@example.com", "codex": "ada@example.com", "copilot": "ada-gh"}
	for _, st := range list {
		account, ok := want[st.Provider]
		if !ok {
			continue
		}
		delete(want, st.Provider)
		if st.Account != account || !st.Active || st.Refresh == "" {
			t.Errorf("%s: account %q active %v refresh %q; want the released login as active account %s",
				st.Provider, st.Account, st.Active, st.Refresh, account)
		}
	}
	if len(want) != 0 {
		t.Errorf("status does not list %v", want)
	}
	if _, err := os.Stat(filepath.Join(creds, "claude.json")); !os.IsNotExist(err) {
		t.Errorf("the released file is still there: %v", err)
	}
}
