package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

func ledgerApp(t *testing.T, enabled bool, apiBase, path string) *App {
	t.Helper()
	cfg := config.Default()
	cfg.Ledger.Enabled = enabled
	cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: "http://127.0.0.1:9/", ClientID: "ccproxy", APIBase: apiBase}
	a, err := New(Options{Config: cfg, Store: store.NewMemory(), LedgerPath: path})
	if err != nil {
		t.Fatal(err)
	}
	c := auth.Credentials{Version: 1, Provider: "corp", AccessToken: "corp-access-token-abcdefghijklmnop",
		RefreshToken: "corp-refresh", ExpiresAt: time.Now().Add(time.Hour), ObtainedAt: time.Now()}
	if _, err := a.Adopt(context.Background(), "", c); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestProxiedRequestsLandInTheLedger(t *testing.T) {
	up := fake.NewUpstream(fake.UpstreamOptions{})
	srv := httptest.NewServer(up)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "usage.db")
	a := ledgerApp(t, true, srv.URL, path)
	ctx := context.Background()
	release, err := a.StartLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"model":"a","stream":true}`, `{"model":"b"}`} {
		rec := httptest.NewRecorder()
		a.Proxy().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787/corp/v1/messages", strings.NewReader(body)))
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	a.Proxy().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8787/status", nil))
	var status struct {
		Ledger *LedgerStatus `json:"ledger"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil || status.Ledger == nil || !status.Ledger.Enabled || status.Ledger.Path != path {
		t.Errorf("/status ledger = %+v (%v): %s", status.Ledger, err, rec.Body)
	}
	if err := release(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Ledger() != nil || a.LedgerStatus().Enabled {
		t.Error("the ledger is still in use after release")
	}
	d, err := ledger.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows, err := d.Summary(ctx, time.Time{}, ledger.ByModel)
	if err != nil {
		t.Fatal(err)
	}
	want := up.Reported()
	var in, out int64
	for _, r := range rows {
		in += r.InputTokens
		out += r.OutputTokens
	}
	if len(rows) != 2 || in != want.Input || out != want.Output {
		t.Errorf("ledger rows %+v, upstream reported %+v", rows, want)
	}
}

func TestDisabledLedgerOpensNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "usage.db")
	a := ledgerApp(t, false, "http://127.0.0.1:9", path)
	release, err := a.StartLedger(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release(context.Background())
	if a.Ledger() != nil || a.LedgerStatus().Enabled {
		t.Error("a disabled ledger is open")
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("a disabled ledger created its folder: %v", err)
	}
}

func TestAnUnopenableLedgerLeavesTheProxyServing(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "state")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil { // a file where the folder should be
		t.Fatal(err)
	}
	a := ledgerApp(t, true, "http://127.0.0.1:9", filepath.Join(blocker, "usage.db"))
	release, err := a.StartLedger(context.Background())
	if err == nil || !strings.Contains(err.Error(), "requests are served but not recorded") {
		t.Fatalf("StartLedger = %v, want an error that says the proxy goes on", err)
	}
	if release(context.Background()) != nil || a.Ledger() != nil {
		t.Error("a failed ledger left something open")
	}
}

// TestNoCredentialInTheLedgerInAnyMode: whatever [ledger] bodies says, the
// file never holds the provider's tokens or the proxy's api key; the
// request's body is there only with bodies = true.
func TestNoCredentialInTheLedgerInAnyMode(t *testing.T) {
	const key = "client-proxy-key-9a8b7c6d"
	for _, bodies := range []bool{false, true} {
		up := fake.NewUpstream(fake.UpstreamOptions{})
		srv := httptest.NewServer(up)
		path := filepath.Join(t.TempDir(), "usage.db")
		cfg := config.Default()
		cfg.Ledger.Bodies = bodies
		cfg.Proxy.APIKey = key
		cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: "http://127.0.0.1:9/", ClientID: "ccproxy", APIBase: srv.URL}
		a, err := New(Options{Config: cfg, Store: store.NewMemory(), LedgerPath: path})
		if err != nil {
			t.Fatal(err)
		}
		c := auth.Credentials{Version: 1, Provider: "corp", AccessToken: "corp-access-token-abcdefghijklmnop",
			RefreshToken: "corp-refresh-token-qrstuvwxyz", IDToken: "corp-id-token-0123456789", ExpiresAt: time.Now().Add(time.Hour)}
		ctx := context.Background()
		if _, err := a.Adopt(ctx, "", c); err != nil {
			t.Fatal(err)
		}
		release, err := a.StartLedger(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, stream := range []string{"false", "true"} {
			body := `{"model":"m","stream":` + stream + `,"messages":[{"role":"user","content":"a prompt of mine; key ` + key + `"}]}`
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787/corp/v1/messages", strings.NewReader(body))
			req.Header.Set("X-Api-Key", key)
			req.Header.Set("Cookie", "session=cookie-value-1234567")
			rec := httptest.NewRecorder()
			a.Proxy().Handler().ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
		if err := release(ctx); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		var file []byte
		for _, p := range []string{path, path + "-wal"} {
			b, _ := os.ReadFile(p)
			file = append(file, b...)
		}
		for _, secret := range []string{c.AccessToken, c.RefreshToken, c.IDToken, key, "cookie-value-1234567"} {
			if bytes.Contains(file, []byte(secret)) {
				t.Errorf("bodies = %v: usage.db holds %q", bodies, secret)
			}
		}
		if kept := bytes.Contains(file, []byte("a prompt of mine")); kept != bodies {
			t.Errorf("bodies = %v, yet the request body kept = %v", bodies, kept)
		}
	}
}
