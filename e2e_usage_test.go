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
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// TestUsageLedgerEndToEnd sends JSON and streamed requests of every API
// family through serve, restarts serve, sends more, and reads the ledger
// back with `usage --json` in another process: the token totals are
// exactly what the upstream reported, none lost across the restart.
func TestUsageLedgerEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(ctx, t)

	idp := fake.NewOAuthServer(fake.WithClientID("ccproxy"))
	defer idp.Close()
	up := fake.NewUpstream(fake.UpstreamOptions{Deltas: 4})
	upstream := httptest.NewServer(up)
	defer upstream.Close()

	h := newE2EHome(t, dir, corpConfig(idp.Issuer(), upstream.URL+"/api"))
	stateHome, credsDir := h.stateHome, h.credsDir
	creds := fmt.Sprintf(`{"version":1,"provider":"corp","access_token":"at-e2e-usage-0123456789","refresh_token":"rt-e2e-usage-0123456789","token_type":"Bearer","expires_at":%q}`,
		time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(credsDir, "corp.json"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	env := h.env

	requests := []struct{ path, body string }{
		{"/corp/v1/messages", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`},
		{"/corp/v1/messages", `{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"tell me more"}]}`},
		{"/corp/v1/chat/completions", `{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true},"messages":[]}`},
		{"/corp/v1/chat/completions", `{"model":"gpt-4.1","messages":[{"role":"user","content":"json please"}]}`},
		{"/corp/responses", `{"model":"gpt-5-codex","stream":true,"input":"write a haiku"}`},
		{"/corp/responses?api-version=2", `{"model":"gpt-5-codex","input":"and another"}`},
	}
	for round := range 2 {
		srv := startServe(ctx, t, bin, env)
		proxyURL := srv.url
		for _, r := range requests {
			resp, err := http.Post(proxyURL+r.path, "application/json", strings.NewReader(r.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("round %d %s: %s %s", round, r.path, resp.Status, b)
			}
		}
		srv.stop(ctx, t) // SIGTERM: serve drains the proxy, then the ledger queue
		if strings.Contains(srv.stderr.String(), "usage ledger") {
			t.Errorf("serve complained about the ledger:\n%s", srv.stderr)
		}

		out, err := runCmd(ctx, bin, env, "usage", "--json", "--by", "model")
		if err != nil {
			t.Fatalf("usage --json: %v\n%s", err, out)
		}
		var rows []struct {
			Model               string `json:"model"`
			Requests            int64  `json:"requests"`
			Errors              int64  `json:"errors"`
			InputTokens         int64  `json:"input_tokens"`
			OutputTokens        int64  `json:"output_tokens"`
			CacheReadTokens     int64  `json:"cache_read_tokens"`
			CacheCreationTokens int64  `json:"cache_creation_tokens"`
		}
		if err := json.Unmarshal(out, &rows); err != nil {
			t.Fatalf("usage --json is not JSON: %v\n%s", err, out)
		}
		var got usage.Tokens
		var n, errs int64
		models := map[string]int64{}
		for _, r := range rows {
			got = got.Add(usage.Tokens{Input: r.InputTokens, Output: r.OutputTokens, CacheRead: r.CacheReadTokens, CacheCreation: r.CacheCreationTokens})
			n += r.Requests
			errs += r.Errors
			models[r.Model] = r.Requests
		}
		want := up.Reported()
		if got != want || n != int64(len(requests)*(round+1)) || errs != 0 {
			t.Errorf("after round %d: usage --json totals %+v over %d requests (%d errors); the upstream reported %+v over %d",
				round, got, n, errs, want, len(requests)*(round+1))
		}
		if models["claude-sonnet-4-5"] != int64(2*(round+1)) || models["gpt-5-codex"] != int64(2*(round+1)) {
			t.Errorf("requests per model %v", models)
		}
	}

	db := filepath.Join(stateHome, "ccproxy-tui", "usage.db")
	fi, err := os.Stat(db)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("usage.db: %v, mode %v", err, fi.Mode())
	}
	out, err := runCmd(ctx, bin, env, "usage", "--requests", "--json", "--limit", "100")
	if err != nil {
		t.Fatalf("usage --requests: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "api-version") {
		t.Errorf("a recorded path kept its query:\n%s", out)
	}
	raw, _ := os.ReadFile(db)
	for _, secret := range []string{"at-e2e-usage-0123456789", "rt-e2e-usage-0123456789", "tell me more"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("usage.db holds %q; without [ledger] bodies = true it keeps no body and never a token", secret)
		}
	}
}

func runCmd(ctx context.Context, bin string, env []string, args ...string) ([]byte, error) {
	c := exec.CommandContext(ctx, bin, args...)
	c.Env = env
	var stderr strings.Builder
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return append(out, stderr.String()...), err
	}
	return out, nil
}
