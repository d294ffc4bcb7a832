package providers

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func importOpts(home string, env map[string]string) ImportOptions {
	return ImportOptions{
		Home:   home,
		Getenv: func(k string) string { return env[k] },
		Clock:  clockwork.NewFakeClockAt(testNow),
	}
}

func TestImportClaude(t *testing.T) {
	home := filepath.Join("..", "testdata", "official", "claude_home")
	plan, err := Import(Claude, importOpts(home, nil))
	if err != nil {
		t.Fatal(err)
	}
	c := plan.Credentials
	want := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC) // expiresAt 1795500000000 ms
	if plan.Source != filepath.Join(home, ".claude", ".credentials.json") || c.Provider != "claude" ||
		!strings.HasPrefix(c.AccessToken, "sk-ant-oat01-SYNTHETIC-imported") || !strings.HasPrefix(c.RefreshToken, "sk-ant-ort01-") {
		t.Errorf("plan = %s %v", plan.Source, c)
	}
	if !c.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v (expiresAt is milliseconds)", c.ExpiresAt, want)
	}
	if c.Plan != "max" || c.AccountID != "acct-uuid-synthetic-0001" || c.Email != "claude-user@example.com" {
		t.Errorf("plan=%q account=%q email=%q", c.Plan, c.AccountID, c.Email)
	}
	if !slices.Equal(c.Scopes, []string{"user:inference", "user:profile", "user:sessions:claude_code"}) {
		t.Errorf("scopes = %v", c.Scopes)
	}
	if !strings.Contains(plan.Warning, "Claude Code") || !strings.Contains(plan.Warning, "log in again") {
		t.Errorf("warning = %q", plan.Warning)
	}
}

func TestImportCodex(t *testing.T) {
	for _, tc := range []struct {
		name string
		home string
		env  map[string]string
	}{
		{"CODEX_HOME", "../testdata/official/nowhere", map[string]string{"CODEX_HOME": "../testdata/official/codex_home"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Import(Codex, importOpts(tc.home, tc.env))
			if err != nil {
				t.Fatal(err)
			}
			c := plan.Credentials
			if plan.Source != filepath.Join("..", "testdata", "official", "codex_home", "auth.json") {
				t.Errorf("source = %s", plan.Source)
			}
			if !c.ExpiresAt.Equal(codexAccessExp) {
				t.Errorf("expires %v, want the access token's exp", c.ExpiresAt)
			}
			if c.AccountID != "acct-synthetic-0001" || c.Plan != "plus" || c.Email != "dev@example.com" || c.IDToken == "" {
				t.Errorf("identity %q %q %q", c.AccountID, c.Plan, c.Email)
			}
			if c.RefreshToken != "rt_synthetic_codex_refresh_0001" || !c.LastRefresh.Equal(time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)) {
				t.Errorf("refresh %s last %v", c.RefreshToken, c.LastRefresh)
			}
			if !strings.Contains(plan.Warning, "single-use") {
				t.Errorf("warning = %q", plan.Warning)
			}
		})
	}
	// The default location is ~/.codex.
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".codex"), 0o700); err != nil {
		t.Fatal(err)
	}
	blob, _ := os.ReadFile("../testdata/official/codex_home/auth.json")
	if err := os.WriteFile(filepath.Join(home, ".codex", "auth.json"), blob, 0o600); err != nil {
		t.Fatal(err)
	}
	if plan, err := Import(Codex, importOpts(home, nil)); err != nil || plan.Source != filepath.Join(home, ".codex", "auth.json") {
		t.Errorf("default ~/.codex: %v", err)
	}
}

func TestImportCopilot(t *testing.T) {
	for _, tc := range []struct {
		name, home  string
		env         map[string]string
		token, user string
		source      string
	}{
		{"apps.json prefers the ghu_ token", "../testdata/official/nowhere", map[string]string{"XDG_CONFIG_HOME": "../testdata/official/copilot_apps"},
			"ghu_SYNTHETICappsjsonToken000000000000001", "octo-synthetic", "../testdata/official/copilot_apps/github-copilot/apps.json"},
		{"hosts.json under ~/.config", "", nil,
			"gho_SYNTHETIChostsjsonToken00000000000003", "octo-hosts", "/github-copilot/hosts.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := tc.home
			if home == "" {
				// ~/.config/github-copilot/hosts.json
				home = t.TempDir()
				dir := filepath.Join(home, ".config", "github-copilot")
				_ = os.MkdirAll(dir, 0o700)
				blob, _ := os.ReadFile("../testdata/official/copilot_hosts/github-copilot/hosts.json")
				_ = os.WriteFile(filepath.Join(dir, "hosts.json"), blob, 0o600)
			}
			plan, err := Import(Copilot, importOpts(home, tc.env))
			if err != nil {
				t.Fatal(err)
			}
			c := plan.Credentials
			if c.RefreshToken != tc.token || c.AccessToken != "" || c.AccountID != tc.user || !strings.HasSuffix(plan.Source, tc.source) {
				t.Errorf("source %s user %q token %s", plan.Source, c.AccountID, c.RefreshToken[:8])
			}
			// No Copilot token yet: the first refresh fetches one.
			if c.Valid(testNow) || !c.NeedsRefresh(testNow, 0) || !c.CanRefresh() {
				t.Error("imported Copilot credentials must ask for an immediate re-fetch")
			}
		})
	}
}

func TestImportBrokenFiles(t *testing.T) {
	dirAsFile := t.TempDir()
	_ = os.MkdirAll(filepath.Join(dirAsFile, ".claude", ".credentials.json"), 0o700)
	for _, tc := range []struct {
		name, provider, home string
		env                  map[string]string
		file                 string // must be named in the error
		notFound             bool
	}{
		{"claude truncated JSON", Claude, "../testdata/official/claude_malformed", nil, ".credentials.json", false},
		{"claude without claudeAiOauth", Claude, "../testdata/official/claude_unexpected", nil, ".credentials.json", false},
		{"claude file is a directory", Claude, dirAsFile, nil, ".credentials.json", false},
		{"claude missing", Claude, "../testdata/official/nowhere", nil, ".credentials.json", true},
		{"codex truncated JSON", Codex, "", map[string]string{"CODEX_HOME": "../testdata/official/codex_malformed"}, "auth.json", false},
		{"codex api key login", Codex, "", map[string]string{"CODEX_HOME": "../testdata/official/codex_apikey"}, "auth.json", false},
		{"codex tokens are not JWTs", Codex, "", map[string]string{"CODEX_HOME": "../testdata/official/codex_badjwt"}, "auth.json", false},
		{"codex missing", Codex, "../testdata/official/nowhere", nil, "auth.json", true},
		{"copilot apps.json not an object", Copilot, "", map[string]string{"XDG_CONFIG_HOME": "../testdata/official/copilot_malformed"}, "apps.json", false},
		{"copilot entry without token", Copilot, "", map[string]string{"XDG_CONFIG_HOME": "../testdata/official/copilot_empty"}, "apps.json", false},
		{"copilot missing", Copilot, "../testdata/official/nowhere", nil, "hosts.json", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := tc.home
			if home == "" {
				home = "../testdata/official/nowhere"
			}
			_, err := Import(tc.provider, importOpts(home, tc.env))
			if err == nil {
				t.Fatal("want an error")
			}
			t.Log(err)
			if errors.Is(err, ErrNoImportSource) != tc.notFound {
				t.Errorf("errors.Is(ErrNoImportSource) = %v, want %v: %v", !tc.notFound, tc.notFound, err)
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error does not name the file: %v", err)
			}
			for _, secret := range []string{"sk-ant", "eyJ", "ghu_", "gho_", "rt_", "sk-synthetic"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes file content %q: %v", secret, err)
				}
			}
		})
	}
}

func TestImportNeverModifiesFiles(t *testing.T) {
	files := []string{
		"../testdata/official/claude_home/.claude/.credentials.json",
		"../testdata/official/claude_home/.claude.json",
		"../testdata/official/codex_home/auth.json",
		"../testdata/official/copilot_apps/github-copilot/apps.json",
	}
	type snap struct {
		body string
		mod  time.Time
		mode os.FileMode
	}
	before := map[string]snap{}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(f)
		before[f] = snap{string(b), st.ModTime(), st.Mode()}
	}
	for _, o := range []ImportOptions{
		importOpts("../testdata/official/claude_home", map[string]string{"CODEX_HOME": "../testdata/official/codex_home", "XDG_CONFIG_HOME": "../testdata/official/copilot_apps"}),
	} {
		plans, err := ImportAll(o)
		if err != nil || len(plans) != 3 {
			t.Fatalf("ImportAll: %d plans, %v", len(plans), err)
		}
		var names []string
		for _, p := range plans {
			names = append(names, p.Provider)
		}
		if !slices.Equal(names, []string{"claude", "codex", "copilot"}) {
			t.Errorf("order = %v", names)
		}
	}
	for _, f := range files {
		st, _ := os.Stat(f)
		b, _ := os.ReadFile(f)
		if (snap{string(b), st.ModTime(), st.Mode()}) != before[f] {
			t.Errorf("%s changed", f)
		}
	}
}

func TestImportUnknownProvider(t *testing.T) {
	_, err := Import("gemini", importOpts("../testdata/official/nowhere", nil))
	var unk *UnknownProviderError
	if !errors.As(err, &unk) || !strings.Contains(err.Error(), "claude, codex, copilot") {
		t.Errorf("err = %v", err)
	}
}
