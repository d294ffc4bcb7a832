// Package config reads config.toml: the proxy's listen address and api_key,
// refresh timing, the store backend, and per-provider overrides and generic
// OIDC providers. It only parses and validates; it wires nothing.
package config

import (
	"fmt"
	"time"
)

// Config is the whole file. The zero value is not usable; start from Default.
type Config struct {
	Proxy     Proxy               `toml:"proxy"`
	Refresh   Refresh             `toml:"refresh"`
	Store     Store               `toml:"store"`
	Providers map[string]Provider `toml:"providers"`
}

// Proxy configures the embedded HTTP server.
type Proxy struct {
	Listen    string `toml:"listen"`
	APIKey    string `toml:"api_key"`
	Autostart bool   `toml:"autostart"`
	// MaxBody caps a request body in bytes (413 beyond it).
	MaxBody int64 `toml:"max_body"`
}

// Refresh configures the token lifecycle.
type Refresh struct {
	// Grace is how long before expiry a token is refreshed.
	Grace Duration `toml:"grace"`
	// Cache is how long a Manager trusts credentials it read from the store.
	Cache Duration `toml:"cache"`
}

// Store selects where credentials live.
type Store struct {
	Backend string `toml:"backend"` // "file" or "keyring"
	// Dir overrides the credentials folder of the file backend.
	Dir string `toml:"dir"`
}

// Provider overrides a built-in provider or, with Type "oidc", declares a
// generic one. Empty fields keep the built-in value.
type Provider struct {
	Type         string `toml:"type"`
	Enabled      *bool  `toml:"enabled"`
	DisplayName  string `toml:"display_name"`
	Issuer       string `toml:"issuer"`
	ClientID     string `toml:"client_id"`
	ClientSecret string `toml:"client_secret"`
	AuthorizeURL string `toml:"authorize_url"`
	TokenURL     string `toml:"token_url"`
	DeviceURL    string `toml:"device_url"`
	// CopilotTokenURL moves the endpoint that trades a GitHub token for a
	// Copilot token (copilot_internal/v2/token), for GitHub Enterprise.
	CopilotTokenURL string   `toml:"copilot_token_url"`
	RedirectURL     string   `toml:"redirect_url"`
	Scopes          []string `toml:"scopes"`
	Flow            string   `toml:"flow"`
	APIBase         string   `toml:"api_base"`
	// APIFormat says which API a generic provider's gateway speaks,
	// "openai" (the default) or "anthropic": it picks the shape of the
	// proxy's error bodies and the variables `env` prints.
	APIFormat string            `toml:"api_format"`
	Headers   map[string]string `toml:"headers"`
}

// Defaults of DESIGN.md.
const (
	DefaultListen = "127.0.0.1:8787"
	DefaultGrace  = 2 * time.Minute
	// DefaultCache bounds how long a running serve or dashboard keeps using
	// credentials after another process logged them out; a login made
	// elsewhere is seen at once, because "not logged in" is never cached.
	DefaultCache   = 30 * time.Second
	DefaultMaxBody = 32 << 20
	DefaultBackend = "file"
)

// Default returns the configuration used when no file exists.
func Default() Config {
	return Config{
		Proxy:     Proxy{Listen: DefaultListen, MaxBody: DefaultMaxBody},
		Refresh:   Refresh{Grace: Duration{DefaultGrace}, Cache: Duration{DefaultCache}},
		Store:     Store{Backend: DefaultBackend},
		Providers: map[string]Provider{},
	}
}

// Duration reads "2m" or "90s" from TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (like \"2m\" or \"90s\"): %q", b)
	}
	if v < 0 {
		return fmt.Errorf("duration must not be negative: %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back in Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
