package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/oauth2"
)

// Flow is a way to log in.
type Flow string

// The login flows a provider may offer.
const (
	// FlowBrowser opens the authorize URL and waits on a loopback callback.
	FlowBrowser Flow = "browser"
	// FlowPaste shows the authorize URL and takes the code the user pastes.
	FlowPaste Flow = "paste"
	// FlowDevice shows a user code to enter on another device (RFC 8628).
	FlowDevice Flow = "device"
)

// Config is one provider's OAuth client: where its endpoints are and how it
// departs from standard OAuth. Every field is data a user can override from
// the config file, so tests point it at loopback fakes and enterprises at
// their own hosts.
type Config struct {
	// Provider is the short name used in files, routes and messages ("claude").
	Provider string
	// ClientID identifies the OAuth client the provider registered.
	ClientID string
	// ClientSecret is sent in the body when set; public clients leave it empty.
	ClientSecret string
	// AuthURL is the authorize endpoint (browser and paste flows).
	AuthURL string
	// TokenURL takes code exchanges, refreshes and device polls.
	TokenURL string
	// DeviceURL is the RFC 8628 device authorization endpoint; empty means
	// the provider has no standard device flow.
	DeviceURL string
	// RedirectURL is the loopback callback of FlowBrowser. Its host must be
	// localhost or 127.0.0.1; port 0 means any free port. Empty means
	// http://127.0.0.1:0/callback.
	RedirectURL string
	// FallbackPorts are tried in order when RedirectURL's fixed port is busy
	// (Codex registers 1457 beside 1455).
	FallbackPorts []int
	// PasteRedirectURL is a hosted page that displays the code for FlowPaste
	// (Claude shows CODE#STATE there). Empty means FlowPaste uses RedirectURL
	// and the user pastes the address the browser failed to load.
	PasteRedirectURL string
	// Issuer is the authorization server's issuer identifier: an
	// authorization response carrying iss (RFC 9207) must name it.
	Issuer string
	// IssuerInResponse is set when the server advertises
	// authorization_response_iss_parameter_supported: a response without
	// iss is then refused.
	IssuerInResponse bool
	// RevocationURL is the RFC 7009 endpoint logout revokes the refresh
	// token at; empty means the provider has none.
	RevocationURL string
	// Scopes are requested at authorize time and reported when the token
	// response does not list any.
	Scopes []string
	// AuthParams are extra authorize-URL parameters ("code": "true").
	AuthParams map[string]string
	Hooks      Hooks
	// HTTPClient is used for every call to the provider; nil means a client
	// with sane timeouts.
	HTTPClient *http.Client
	// Clock drives expiry arithmetic; nil means the real clock.
	Clock clockwork.Clock
	// LoginTimeout bounds how long BrowserLogin.Wait waits for the callback;
	// zero means DefaultLoginTimeout.
	LoginTimeout time.Duration
}

// DefaultLoginTimeout is how long a browser login waits for its callback
// when Config.LoginTimeout is zero.
const DefaultLoginTimeout = 5 * time.Minute

// CodeExchange is what an authorization-code exchange sends.
type CodeExchange struct {
	Code        string
	Verifier    string
	RedirectURL string
	State       string
}

// DeviceCode is what the user needs to finish a device login elsewhere.
type DeviceCode struct {
	UserCode string
	// VerificationURI is where the user types UserCode.
	VerificationURI string
	// VerificationURIComplete, when the server gives one, already carries the
	// code, so opening it is enough.
	VerificationURIComplete string
	ExpiresAt               time.Time
	Interval                time.Duration
}

// Hooks replace one step of the standard flow for providers that depart from
// it. A nil hook means the standard OAuth step.
type Hooks struct {
	// Exchange trades an authorization code for tokens (Claude wants a JSON
	// body that carries state).
	Exchange func(ctx context.Context, cfg *Config, x CodeExchange) (*oauth2.Token, error)
	// Refresh renews cur (Claude and Codex want JSON bodies; Copilot re-fetches
	// a short-lived token using the long-lived GitHub token in RefreshToken).
	Refresh func(ctx context.Context, cfg *Config, cur Credentials) (*oauth2.Token, error)
	// Device adapts the device login's requests and answers when the
	// provider's device endpoints are not RFC 8628 (Codex's deviceauth
	// endpoints); the poll loop stays auth's.
	Device DeviceHooks
	// Complete fills c from a fresh token response, after login and after
	// every refresh: account, email and plan from an id_token or a profile
	// call, or Copilot's second token exchange. c arrives holding the tokens
	// from tok and, after a refresh, the previous identity fields.
	Complete func(ctx context.Context, cfg *Config, tok *oauth2.Token, c *Credentials) error
}
