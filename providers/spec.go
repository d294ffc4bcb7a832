package providers

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/provname"
)

// Spec is what the user says about one provider: overrides of a built-in,
// or, with Type "oidc", a generic provider. Empty fields keep the built-in
// value. The config file is one source of specs; the demo and tests build
// their own. A Spec is checked where it becomes a provider (NewRegistry),
// and Check runs the same rules early for the config's line numbers.
type Spec struct {
	// Type is "" for a built-in and "oidc" for a generic provider.
	Type         string
	Enabled      *bool
	DisplayName  string
	Issuer       string
	ClientID     string
	ClientSecret string
	AuthorizeURL string
	TokenURL     string
	DeviceURL    string
	// CopilotTokenURL moves the endpoint that trades a GitHub token for a
	// Copilot token, for GitHub Enterprise; only copilot reads it.
	CopilotTokenURL string
	RedirectURL     string
	Scopes          []string
	Flow            string
	APIBase         string
	// APIFormat is the API a generic provider's gateway speaks: "openai"
	// (the default) or "anthropic".
	APIFormat string
	// UsageURL replaces the provider's usage endpoint; a generic provider
	// has none until it is set.
	UsageURL string
	// QuotaPoll = false never asks the usage endpoint.
	QuotaPoll *bool
	Headers   map[string]string
	// RevocationURL is the RFC 7009 endpoint `auth logout` revokes at.
	RevocationURL string
	// AllowInsecureHTTP lets the endpoints be plain http:// to another
	// machine.
	AllowInsecureHTTP bool
}

// Spec keys that not every provider reads; a spec setting one for a
// provider that does not is refused rather than ignored.
const keyCopilotTokenURL = "copilot_token_url"

// SpecError is a spec the user must fix. Key is the setting at fault
// ("token_url"), or "" for the table as a whole, so the config can point at
// its line; Err says what is wrong and may be an *UnknownProviderError.
type SpecError struct {
	Provider string
	Key      string
	Err      error
}

func (e *SpecError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("[providers.%s]: %v", e.Provider, e.Err)
	}
	return fmt.Sprintf("[providers.%s]: %s: %v", e.Provider, e.Key, e.Err)
}

// Unwrap gives callers the cause (an unknown provider name, say).
func (e *SpecError) Unwrap() error { return e.Err }

func specErr(name, key string, err error) error {
	return &SpecError{Provider: name, Key: key, Err: err}
}

func specErrf(name, key, format string, a ...any) error {
	return specErr(name, key, fmt.Errorf(format, a...))
}

// Check reports what is wrong with s as the spec of provider name, as
// NewRegistry would: the name, the type, the flow and API format, every
// URL (absolute http(s), never cleartext to another machine unless
// AllowInsecureHTTP), keys the provider does not read, and whether a
// built-in offers the flow or a generic provider has what it needs. Its
// errors are *SpecError.
func (s Spec) Check(name string) error {
	_, _, err := build(name, s, defaultOptions())
	return err
}

// checkSettings holds the rules that need no provider built: those a
// disabled table must meet as well.
func (s Spec) checkSettings(name string) error {
	if !provname.Valid(name) {
		// The name becomes a route, a file name and a command argument.
		return specErrf(name, "", "provider names are used in routes and file names: want %s", provname.Rule)
	}
	switch s.Type {
	case "", "oidc":
	default:
		return specErrf(name, "type", "unknown provider type %q (want \"oidc\")", s.Type)
	}
	switch auth.Flow(s.Flow) {
	case "", auth.FlowBrowser, auth.FlowDevice, auth.FlowPaste:
	default:
		return specErrf(name, "flow", "unknown flow %q (want browser, device or paste)", s.Flow)
	}
	switch s.APIFormat {
	case "", APIOpenAI, APIAnthropic:
	default:
		return specErrf(name, "api_format", "unknown API format %q (want \"openai\" or \"anthropic\")", s.APIFormat)
	}
	if s.CopilotTokenURL != "" && !lookupBuiltin(name).reads(keyCopilotTokenURL) {
		return specErrf(name, keyCopilotTokenURL, "only the copilot provider trades its token for a second one; remove the key")
	}
	for _, u := range []struct{ key, v string }{
		{"issuer", s.Issuer}, {"authorize_url", s.AuthorizeURL}, {"token_url", s.TokenURL},
		{"device_url", s.DeviceURL}, {"redirect_url", s.RedirectURL}, {"api_base", s.APIBase},
		{keyCopilotTokenURL, s.CopilotTokenURL}, {"revocation_url", s.RevocationURL}, {"usage_url", s.UsageURL},
	} {
		if u.v == "" {
			continue
		}
		if _, err := parseHTTPURL(u.v); err != nil {
			return specErr(name, u.key, err)
		}
		// The redirect is this machine's own callback, never a server.
		if u.key != "redirect_url" && !s.AllowInsecureHTTP && CleartextRemote(u.v) {
			return specErrf(name, u.key, "%q is plain http:// to another machine: codes, "+
				"refresh tokens and bearer tokens would cross the network in clear; use https://, or, on a "+
				"network you trust, set allow_insecure_http = true in [providers.%s]", u.v, name)
		}
	}
	return nil
}

func (s Spec) disabled() bool { return s.Enabled != nil && !*s.Enabled }

// CleartextRemote reports whether raw is an http:// URL whose host is not
// this machine's loopback: anything sent there can be read on the way.
func CleartextRemote(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// parseHTTPURL reads an absolute http(s) URL; its errors quote the value.
func parseHTTPURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("no URL set")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not an http(s) URL: %q (%v)", s, unwrapURLError(err))
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("not an absolute http(s) URL: %q", s)
	}
	return u, nil
}

// unwrapURLError drops the quoted URL a *url.Error repeats.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
