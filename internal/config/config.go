// Package config reads config.toml: the proxy's listen address and api_key,
// refresh timing, the store backend, and per-provider overrides and generic
// OIDC providers. It only parses and validates; it wires nothing.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/providers"
)

// Config is the whole file. The zero value is not usable; start from Default.
type Config struct {
	Proxy     Proxy               `toml:"proxy"`
	Refresh   Refresh             `toml:"refresh"`
	Store     Store               `toml:"store"`
	Ledger    Ledger              `toml:"ledger"`
	Providers map[string]Provider `toml:"providers"`

	// notes are Load's findings about the file itself (see Warnings).
	notes []string
}

// Ledger configures the usage ledger, the SQLite file of every proxied
// request's counts.
type Ledger struct {
	// Enabled false records nothing and never opens the file.
	Enabled bool `toml:"enabled"`
	// Retention is how long records are kept ("90d"); 0 keeps them all.
	Retention Duration `toml:"retention"`
	// Bodies keeps each request's masked headers and its request and
	// response bodies beside its counts. Off by default: prompts and
	// answers are the user's, and large.
	Bodies bool `toml:"bodies"`
}

// Proxy configures the embedded HTTP server.
type Proxy struct {
	Listen    string `toml:"listen"`
	APIKey    string `toml:"api_key"`
	Autostart bool   `toml:"autostart"`
	// MaxBody caps a request body in bytes (413 beyond it).
	MaxBody int64 `toml:"max_body"`
	// IdleTimeout cuts an upstream that sends nothing this long after its
	// headers (the stream ends); before them it has at least ten minutes,
	// as the providers' SDKs allow, and a 504 after.
	IdleTimeout Duration `toml:"idle_timeout"`
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
	APIFormat string `toml:"api_format"`
	// UsageURL replaces the provider's usage endpoint (the quota asked for
	// when no response carried it lately); a generic provider has none
	// until it is set.
	UsageURL string `toml:"usage_url"`
	// QuotaPoll = false never asks the usage endpoint: the quota then
	// comes from proxied responses only.
	QuotaPoll *bool             `toml:"quota_poll"`
	Headers   map[string]string `toml:"headers"`
	// RevocationURL is the RFC 7009 endpoint `auth logout` revokes the
	// refresh token at (generic providers find it by discovery).
	RevocationURL string `toml:"revocation_url"`
	// AllowInsecureHTTP lets this provider's endpoints be plain http:// on
	// another machine. Off, such a URL is refused when the config loads;
	// on, every start warns about it.
	AllowInsecureHTTP bool `toml:"allow_insecure_http"`
	// Failover = true sends a request once more on another of the
	// provider's accounts when the active one's usage limit is reached and
	// the other has headroom by its quota. Off by default: each
	// provider's terms decide whether using several accounts so is allowed.
	Failover bool `toml:"failover"`
}

// Spec is the table as the providers package takes it; Failover is the
// app's business and not part of it.
func (p Provider) Spec() providers.Spec {
	return providers.Spec{
		Type: p.Type, Enabled: p.Enabled, DisplayName: p.DisplayName, Issuer: p.Issuer,
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, AuthorizeURL: p.AuthorizeURL,
		TokenURL: p.TokenURL, DeviceURL: p.DeviceURL, CopilotTokenURL: p.CopilotTokenURL,
		RedirectURL: p.RedirectURL, Scopes: p.Scopes, Flow: p.Flow, APIBase: p.APIBase,
		APIFormat: p.APIFormat, UsageURL: p.UsageURL, QuotaPoll: p.QuotaPoll, Headers: p.Headers,
		RevocationURL: p.RevocationURL, AllowInsecureHTTP: p.AllowInsecureHTTP,
	}
}

// ProviderSpecs are the provider tables as specs, keyed by name, for
// providers.NewRegistry.
func (c Config) ProviderSpecs() map[string]providers.Spec {
	out := make(map[string]providers.Spec, len(c.Providers))
	for name, p := range c.Providers {
		out[name] = p.Spec()
	}
	return out
}

// Defaults of DESIGN.md.
const (
	DefaultListen = "127.0.0.1:8787"
	DefaultGrace  = 2 * time.Minute
	// DefaultCache is how long credentials read from the store are reused
	// by a process that cannot watch it. serve and the dashboard watch the
	// store and see another process's changes within a second whatever
	// this says; a login made elsewhere is seen at once by every process,
	// because "not logged in" is never cached.
	DefaultCache = 30 * time.Second
	// DefaultIdleTimeout is [proxy] idle_timeout when unset.
	DefaultIdleTimeout = 5 * time.Minute
	DefaultMaxBody     = 32 << 20
	DefaultBackend     = "file"
	// DefaultRetention keeps a quarter of usage history.
	DefaultRetention = 90 * 24 * time.Hour
)

// Default returns the configuration used when no file exists.
func Default() Config {
	return Config{
		Proxy:     Proxy{Listen: DefaultListen, MaxBody: DefaultMaxBody, IdleTimeout: Duration{DefaultIdleTimeout}},
		Refresh:   Refresh{Grace: Duration{DefaultGrace}, Cache: Duration{DefaultCache}},
		Store:     Store{Backend: DefaultBackend},
		Ledger:    Ledger{Enabled: true, Retention: Duration{DefaultRetention}},
		Providers: map[string]Provider{},
	}
}

// Duration reads "2m", "90s" or "90d" from TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string, or a whole number of days
// ("90d").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// ParseDuration reads a Go duration ("36h", "90s") or a whole number of
// days ("7d"), the unit time.ParseDuration lacks.
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err == nil && days >= 0 && days <= 100*365 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration (like \"2m\", \"90s\" or \"90d\"): %q", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration must not be negative: %q", s)
	}
	return v, nil
}

// MarshalText writes the duration back in Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
