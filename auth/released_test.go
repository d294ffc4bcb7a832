package auth

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// TestReadsReleasedCredentials: the files the first release wrote load with
// every field intact, so upgrading never costs a login.
func TestReadsReleasedCredentials(t *testing.T) {
	src := filepath.Join("..", "testdata", "released-v1", "credentials")
	dir := filepath.Join(t.TempDir(), "credentials")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	obtained := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		provider, email, account, refreshPrefix string
		expires                                 time.Time
	}{
		{"claude", "ada@example.com", "8f0c6a2e-0000-4000-8000-00000000c1a0", "sk-ant-ort01-", obtained.Add(8 * time.Hour)},
		{"codex", "ada@example.com", "acct-fixture-codex", "rt_fixture_", obtained.Add(240 * time.Hour)},
		{"copilot", "", "ada-gh", "ghu_", obtained.Add(30 * time.Minute)},
		{"corp", "ada@corp.example", "ada", "corp-fixture-", obtained.Add(time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.provider, func(t *testing.T) {
			blob, err := st.Load(context.Background(), tc.provider)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			c, err := UnmarshalCredentials(blob)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if c.Provider != tc.provider || c.Email != tc.email || c.AccountID != tc.account {
				t.Errorf("identity = %s/%s/%s, want %s/%s/%s", c.Provider, c.Email, c.AccountID, tc.provider, tc.email, tc.account)
			}
			if !c.ExpiresAt.Equal(tc.expires) || !c.ObtainedAt.Equal(obtained) {
				t.Errorf("times: expires %s obtained %s", c.ExpiresAt, c.ObtainedAt)
			}
			if c.AccessToken == "" || len(c.RefreshToken) < len(tc.refreshPrefix) || c.RefreshToken[:len(tc.refreshPrefix)] != tc.refreshPrefix {
				t.Errorf("tokens lost: access %q refresh %q", MaskAccess(c.AccessToken), MaskRefresh(c.RefreshToken))
			}
		})
	}
}
