package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// TestQuotaEndToEnd: an upstream the program never saw answers with
// Anthropic's, Codex's and Copilot's quota headers through a running serve;
// `quota --json` and `statusline`, each in a process of its own, then show
// the providers' own numbers, and `quota` exits 1 because one window is
// rejected.
func TestQuotaEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(ctx, t)

	now := time.Now().UTC().Truncate(time.Second)
	reset5h := now.Add(70 * time.Minute)
	reset7d := now.Add(76 * time.Hour)
	monthEnd := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	epoch := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/anthropic/"):
			h.Set("anthropic-ratelimit-unified-status", "allowed")
			h.Set("anthropic-ratelimit-unified-representative-claim", "five_hour")
			h.Set("anthropic-ratelimit-unified-reset", epoch(reset5h))
			h.Set("anthropic-ratelimit-unified-5h-utilization", "0.42")
			h.Set("anthropic-ratelimit-unified-5h-reset", epoch(reset5h))
			h.Set("anthropic-ratelimit-unified-5h-status", "allowed")
			h.Set("anthropic-ratelimit-unified-7d-utilization", "0.18")
			h.Set("anthropic-ratelimit-unified-7d-reset", epoch(reset7d))
			h.Set("anthropic-ratelimit-unified-7d-status", "allowed")
			_, _ = io.WriteString(w, `{"type":"message","content":[]}`)
		case strings.HasPrefix(r.URL.Path, "/codex/"):
			h.Set("x-codex-primary-used-percent", "100")
			h.Set("x-codex-primary-window-minutes", "300")
			h.Set("x-codex-primary-reset-after-seconds", "4200")
			h.Set("x-codex-secondary-used-percent", "61.5")
			h.Set("x-codex-secondary-window-minutes", "10080")
			h.Set("x-codex-secondary-reset-at", epoch(reset7d))
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"type":"usage_limit_reached"}}`)
		case strings.HasPrefix(r.URL.Path, "/copilot/"):
			h.Set("x-quota-snapshot-premium_interactions", "ent=300&ov=0.0&ovPerm=false&rem=88.7&rst="+url.QueryEscape(monthEnd.Format(time.RFC3339)))
			_, _ = io.WriteString(w, `{"object":"chat.completion","choices":[]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()
	idp := fake.NewOAuthServer(fake.WithClientID("ccproxy"))
	defer idp.Close()

	home, cfgHome, stateHome := filepath.Join(dir, "home"), filepath.Join(dir, "config"), filepath.Join(dir, "state")
	cfgFile := filepath.Join(cfgHome, "ccproxy-tui", "config.toml")
	os.MkdirAll(filepath.Dir(cfgFile), 0o700)
	os.MkdirAll(home, 0o700)
	config := "[proxy]\nlisten = \"127.0.0.1:0\"\n"
	for _, gw := range []string{"anthropic", "codex", "copilot"} {
		config += fmt.Sprintf("\n[providers.gw-%s]\ntype = \"oidc\"\nissuer = %q\nclient_id = \"ccproxy\"\napi_base = %q\n", gw, idp.Issuer(), upstream.URL+"/"+gw)
	}
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	disk, err := store.NewFile(filepath.Join(cfgHome, "ccproxy-tui", "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	for _, gw := range []string{"anthropic", "codex", "copilot"} {
		c := auth.Credentials{Version: 1, Provider: "gw-" + gw, AccessToken: "gw-access-token-0123456789abcdef", ExpiresAt: now.Add(time.Hour), ObtainedAt: now}
		blob, _ := c.Marshal()
		if err := disk.Save(ctx, c.Provider, blob); err != nil {
			t.Fatal(err)
		}
	}
	env := append(cleanEnv(), "HOME="+home, "XDG_CONFIG_HOME="+cfgHome, "XDG_STATE_HOME="+stateHome,
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))

	srv := startServe(ctx, t, bin, env)
	proxyURL, serveErr := srv.url, srv.stderr

	for path, want := range map[string]int{
		"/gw-anthropic/v1/messages":    200,
		"/gw-codex/responses":          429,
		"/gw-copilot/chat/completions": 200,
	} {
		resp, err := http.Post(proxyURL+path, "application/json", strings.NewReader(`{"model":"m"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// serve keeps what the last responses said before it exits.
	srv.stop(ctx, t)

	run := func(args ...string) (string, int) {
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = env
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if stderr.Len() > 0 {
			t.Logf("%v stderr: %s", args, stderr.String())
		}
		return string(out), code
	}
	out, code := run("quota", "--json")
	if code != 1 {
		t.Errorf("quota --json exit %d, want 1 (codex's primary window is rejected)", code)
	}
	var list []struct {
		Provider string `json:"provider"`
		Status   string `json:"status"`
		Binding  string `json:"binding"`
		Source   string `json:"source"`
		Windows  []struct {
			Name          string    `json:"name"`
			UsedPercent   float64   `json:"used_percent"`
			ResetsAt      time.Time `json:"resets_at"`
			WindowMinutes int       `json:"window_minutes"`
			Status        string    `json:"status"`
		} `json:"windows"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("quota --json: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, s := range list {
		line := fmt.Sprintf("%s %s %s:", s.Status, s.Binding, s.Source)
		for _, w := range s.Windows {
			line += fmt.Sprintf(" %s=%g/%d/%s", w.Name, w.UsedPercent, w.WindowMinutes, w.Status)
		}
		got[s.Provider] = line
	}
	want := map[string]string{
		"gw-anthropic": "allowed 5h headers: 5h=42/300/allowed 7d=18/10080/allowed",
		"gw-codex":     "rejected primary headers: primary=100/300/rejected secondary=61.5/10080/allowed",
		"gw-copilot":   fmt.Sprintf("allowed premium_interactions headers: premium_interactions=11.3/%d/allowed", int(monthEnd.Sub(monthEnd.AddDate(0, -1, 0))/time.Minute)),
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s:\n got %s\nwant %s\nserve stderr:\n%s", p, got[p], w, serveErr)
		}
	}
	for _, s := range list {
		for _, w := range s.Windows {
			switch s.Provider + " " + w.Name {
			case "gw-anthropic 5h":
				if !w.ResetsAt.Equal(reset5h) {
					t.Errorf("5h resets %s, want %s", w.ResetsAt, reset5h)
				}
			case "gw-codex secondary", "gw-anthropic 7d":
				if !w.ResetsAt.Equal(reset7d) {
					t.Errorf("%s resets %s, want %s", w.Name, w.ResetsAt, reset7d)
				}
			case "gw-copilot premium_interactions":
				if !w.ResetsAt.Equal(monthEnd) {
					t.Errorf("premium resets %s, want %s", w.ResetsAt, monthEnd)
				}
			}
		}
	}

	line, code := run("statusline")
	if code != 0 {
		t.Errorf("statusline exit %d", code)
	}
	re := regexp.MustCompile(`^gw-anthropic 5h 42% ↻1h(9|10)m · 7d 18% \| gw-codex primary 100%! ↻1h(9|10)m · secondary 62% \| gw-copilot premium_interactions 11% ↻\S+\n$`)
	if !re.MatchString(line) {
		t.Errorf("statusline = %q, want %s", line, re)
	}
	if _, code := run("quota", "gw-anthropic"); code != 0 {
		t.Errorf("quota gw-anthropic exit %d, want 0 (none of its windows is rejected)", code)
	}
}
