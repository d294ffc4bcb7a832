package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMissingFileGivesDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Proxy.Listen != DefaultListen || cfg.Refresh.Grace.Duration != DefaultGrace || cfg.Store.Backend != "file" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
}

func TestLoadDesignExample(t *testing.T) {
	p := write(t, `
[proxy]
listen = "127.0.0.1:9999"
api_key = ""
autostart = true

[refresh]
grace = "5m"

[store]
backend = "keyring"

[providers.claude]
enabled = false

[providers.corp]
type = "oidc"
issuer = "https://sso.example.com"
client_id = "ccproxy"
scopes = ["openid", "offline_access"]
flow = "browser"
api_base = "https://llm.example.com"
`)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Proxy.Listen != "127.0.0.1:9999" || !cfg.Proxy.Autostart || cfg.Refresh.Grace.Duration != 5*time.Minute {
		t.Fatalf("proxy/refresh not read: %+v", cfg)
	}
	if cfg.Refresh.Cache.Duration != DefaultCache || cfg.Proxy.MaxBody != DefaultMaxBody || cfg.Proxy.IdleTimeout.Duration != DefaultIdleTimeout {
		t.Fatalf("unset keys lost their defaults: %+v", cfg)
	}
	if e := cfg.Providers["claude"].Enabled; e == nil || *e {
		t.Fatalf("claude.enabled = %v", e)
	}
	if c := cfg.Providers["corp"]; c.Type != "oidc" || c.ClientID != "ccproxy" || len(c.Scopes) != 2 {
		t.Fatalf("corp = %+v", c)
	}
}

func TestLoadErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name, body, want string
		line             int
	}{
		{"unknown key", "[proxy]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n", "proxy.lisen: unknown key", 3},
		{"unknown table", "\n[proxyy]\nlisten = \"x\"\n", "proxyy", 2},
		{"unknown provider key", "[providers.corp]\ntype = \"oidc\"\nclientid = \"x\"\n", "providers.corp.clientid: unknown key", 3},
		{"bad duration", "[refresh]\n\ngrace = \"soon\"\n", "not a duration", 3},
		{"bad listen", "[proxy]\nlisten = \"localhost\"\n", "proxy.listen: not a host:port", 2},
		{"bad backend", "[store]\nbackend = \"floppy\"\n", "store.backend: unknown backend", 2},
		{"bad provider type", "[providers.x]\n\ntype = \"saml\"\n", "providers.x.type: unknown provider type", 3},
		{"bad flow", "[providers.x]\ntype = \"oidc\"\nflow = \"telepathy\"\n", "providers.x.flow", 3},
		{"bad api format", "[providers.x]\ntype = \"oidc\"\napi_format = \"soap\"\n", "providers.x.api_format: unknown API format", 3},
		{"wrong type", "[proxy]\nautostart = \"yes\"\n", "autostart", 2},
		{"syntax", "[proxy\nlisten = 1\n", "table name", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.body)
			_, err := Load(p)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *config.Error", err, err)
			}
			if ce.File != p || ce.Line != tt.line {
				t.Errorf("position = %s:%d, want %s:%d (%v)", ce.File, ce.Line, p, tt.line, err)
			}
			prefix := p + ":" + itoa(tt.line) + ": "
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want prefix %q containing %q", err, prefix, tt.want)
			}
		})
	}
}

func itoa(n int) string { return fmtInt(n) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func TestPathPrecedence(t *testing.T) {
	env := map[string]string{EnvConfig: "/env/config.toml"}
	get := func(k string) string { return env[k] }
	if got := Path("/flag.toml", get); got != "/flag.toml" {
		t.Errorf("flag: %s", got)
	}
	if got := Path("", get); got != "/env/config.toml" {
		t.Errorf("env: %s", got)
	}
	if got := Path("", func(string) string { return "" }); got != DefaultPath() {
		t.Errorf("default: %s", got)
	}
}

func TestApplyEnvOverridesFile(t *testing.T) {
	cfg, err := Load(write(t, "[proxy]\nlisten = \"127.0.0.1:1111\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvListen: "127.0.0.1:2222", EnvAPIKey: "k", EnvGrace: "90s"}
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if cfg.Proxy.Listen != "127.0.0.1:2222" || cfg.Proxy.APIKey != "k" || cfg.Refresh.Grace.Duration != 90*time.Second {
		t.Fatalf("env not applied: %+v", cfg.Proxy)
	}
	env = map[string]string{EnvListen: "nowhere"}
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "proxy.listen") {
		t.Fatalf("bad env listen: %v", err)
	}
}

// TestCopilotTokenURLOnlyForCopilot: the key that moves Copilot's token
// exchange (GitHub Enterprise) is accepted for copilot and refused, naming
// the key, anywhere else.
func TestCopilotTokenURLOnlyForCopilot(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := Load(write("[providers.copilot]\ncopilot_token_url = \"https://api.ghe.example.com/copilot_internal/v2/token\"\n"))
	if err != nil {
		t.Fatalf("copilot: %v", err)
	}
	if got := cfg.Providers["copilot"].CopilotTokenURL; got != "https://api.ghe.example.com/copilot_internal/v2/token" {
		t.Errorf("CopilotTokenURL = %q", got)
	}
	_, err = Load(write("[providers.claude]\ncopilot_token_url = \"https://api.ghe.example.com/x\"\n"))
	if err == nil || !strings.Contains(err.Error(), "providers.claude.copilot_token_url") {
		t.Errorf("claude with copilot_token_url: err = %v, want one naming the key", err)
	}
}

func TestLoadIdleTimeout(t *testing.T) {
	cfg, err := Load(write(t, "[proxy]\nidle_timeout = \"90s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Proxy.IdleTimeout.Duration != 90*time.Second {
		t.Errorf("idle_timeout = %v, want 90s", cfg.Proxy.IdleTimeout)
	}
}
