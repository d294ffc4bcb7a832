package auth

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// Credentials are what a login yields and a refresh renews, in the v1 file
// format of DESIGN.md. The type never prints its tokens: String, GoString,
// Format and LogValue all show the masked Snapshot instead.
type Credentials struct {
	Version      int               `json:"version"`
	Provider     string            `json:"provider"`
	AccessToken  string            `json:"access_token"`
	RefreshToken string            `json:"refresh_token,omitempty"`
	IDToken      string            `json:"id_token,omitempty"`
	TokenType    string            `json:"token_type,omitempty"`
	ExpiresAt    time.Time         `json:"expires_at,omitzero"`
	Scopes       []string          `json:"scopes,omitempty"`
	AccountID    string            `json:"account_id,omitempty"`
	Email        string            `json:"email,omitempty"`
	Plan         string            `json:"plan,omitempty"`
	ObtainedAt   time.Time         `json:"obtained_at,omitzero"`
	LastRefresh  time.Time         `json:"last_refresh,omitzero"`
	Extra        map[string]string `json:"extra,omitempty"`
	// RefreshRefused is set when the server refused RefreshToken, so that
	// every process reads "log in again" from the record itself until a
	// login replaces it.
	RefreshRefused *Refusal `json:"refresh_refused,omitempty"`
}

// Refusal records a refused refresh: when, and the server's error code.
type Refusal struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Valid reports whether the access token can still be used at now. A zero
// ExpiresAt means the provider gave no expiry (a non-expiring token).
func (c Credentials) Valid(now time.Time) bool {
	return c.AccessToken != "" && (c.ExpiresAt.IsZero() || now.Before(c.ExpiresAt))
}

// NeedsRefresh reports whether now is inside the grace window before expiry,
// or past it. Non-expiring tokens never need a refresh.
func (c Credentials) NeedsRefresh(now time.Time, grace time.Duration) bool {
	if c.AccessToken == "" {
		return true
	}
	return !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt.Add(-grace))
}

// ExpiresIn is the time left at now, never negative; zero for a
// non-expiring token as well as an expired one (check ExpiresAt to tell).
func (c Credentials) ExpiresIn(now time.Time) time.Duration {
	if c.ExpiresAt.IsZero() || !now.Before(c.ExpiresAt) {
		return 0
	}
	return c.ExpiresAt.Sub(now)
}

// CanRefresh reports whether a refresh could be attempted at all.
func (c Credentials) CanRefresh() bool { return c.RefreshToken != "" }

// Marshal encodes c in the v1 store format.
func (c Credentials) Marshal() ([]byte, error) {
	c.Version = store.FormatVersion
	return json.MarshalIndent(c, "", "  ")
}

// UnmarshalCredentials decodes a blob written by Marshal. The store has
// already checked the version; a blob that decodes into something without an
// access token is still an error, because it cannot be used.
func UnmarshalCredentials(blob []byte) (Credentials, error) {
	var c Credentials
	if err := json.Unmarshal(blob, &c); err != nil {
		return Credentials{}, fmt.Errorf("decode credentials: %w", err)
	}
	if c.AccessToken == "" && c.RefreshToken == "" {
		return Credentials{}, fmt.Errorf("decode credentials: no token in record for %q", c.Provider)
	}
	return c, nil
}

// String shows the masked snapshot, so printing credentials by accident is safe.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{provider=%s access=%s refresh=%s expires=%s account=%s}",
		c.Provider, MaskAccess(c.AccessToken), MaskRefresh(c.RefreshToken),
		formatTime(c.ExpiresAt), c.AccountID)
}

// GoString keeps %#v from dumping the struct fields.
func (c Credentials) GoString() string { return c.String() }

// Format routes every verb (%v, %+v, %s, %q, %x …) through String.
func (c Credentials) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", c.String())
	default:
		_, _ = f.Write([]byte(c.String()))
	}
}

// LogValue makes slog print the masked fields only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", c.Provider),
		slog.String("access_token", MaskAccess(c.AccessToken)),
		slog.String("refresh_token", MaskRefresh(c.RefreshToken)),
		slog.String("expires_at", formatTime(c.ExpiresAt)),
		slog.String("account_id", c.AccountID),
	)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
