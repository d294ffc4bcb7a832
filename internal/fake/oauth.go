package fake

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Grant types and device-flow answers the server speaks.
const (
	deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

	// DevicePending, DeviceSlowDown, DeviceDenied, DeviceExpired and
	// DeviceApprove are the steps a device-flow script may hold.
	DevicePending  = "authorization_pending"
	DeviceSlowDown = "slow_down"
	DeviceDenied   = "access_denied"
	DeviceExpired  = "expired_token"
	DeviceApprove  = "approve"
)

// Counts is how many times each endpoint was called.
type Counts struct {
	Authorize int
	Token     int // every POST to the token endpoint, faults included
	Exchange  int // successful code exchanges
	Refresh   int // successful refreshes
	// Reuse counts refreshes with a refresh token that had already been
	// rotated away. Each one revokes its whole grant, as a provider that
	// detects token theft does.
	Reuse      int
	DeviceAuth int
	DevicePoll int
	Discovery  int
	JWKS       int
	Revoke     int // every POST to the revocation endpoint
}

// Fault is a canned bad answer from the token endpoint.
type Fault struct {
	Status      int
	ContentType string
	Body        string
	Header      http.Header
	// Delay holds the answer back (real time, or until the client gives up),
	// for client-timeout tests.
	Delay time.Duration
	// Stall holds the answer back until ReleaseStalls or until the client
	// gives up; it never depends on how fast the machine is.
	Stall bool
	// Reset closes the connection without an answer, as a crashing server
	// or a middlebox does.
	Reset bool
}

// FaultUnavailable is a 503, as a token endpoint in maintenance answers.
func FaultUnavailable() Fault {
	return Fault{Status: http.StatusServiceUnavailable, ContentType: "text/plain", Body: "service unavailable"}
}

// FaultReset drops the connection without answering.
func FaultReset() Fault { return Fault{Reset: true} }

// FaultStall holds the call until ReleaseStalls (then answers normally) or
// the client gives up (then nothing is rotated).
func FaultStall() Fault { return Fault{Stall: true} }

// FaultServerError is a 500 with a JSON-less body.
func FaultServerError() Fault {
	return Fault{Status: http.StatusInternalServerError, ContentType: "text/plain", Body: "internal error"}
}

// FaultHTML is a 200 web page, as a captive portal or wrong URL answers.
func FaultHTML() Fault {
	return Fault{Status: http.StatusOK, ContentType: "text/html; charset=utf-8",
		Body: "<!doctype html><html><body><h1>Sign in to the Wi-Fi</h1></body></html>"}
}

// FaultGarbage is a 200 "JSON" response that does not parse.
func FaultGarbage() Fault {
	return Fault{Status: http.StatusOK, ContentType: "application/json", Body: `{"access_token": "trunc`}
}

// FaultRateLimited is a 429 with the given Retry-After (seconds or an HTTP date).
func FaultRateLimited(retryAfter string) Fault {
	return Fault{Status: http.StatusTooManyRequests, ContentType: "application/json",
		Body:   `{"error":"rate_limit_exceeded","error_description":"slow down"}`,
		Header: http.Header{"Retry-After": {retryAfter}}}
}

// FaultSlow answers normally after d.
func FaultSlow(d time.Duration) Fault { return Fault{Delay: d} }

// Option configures an OAuthServer.
type Option func(*OAuthServer)

// WithClock sets the clock for expiries and device-poll pacing; share the
// fake clock of the code under test.
func WithClock(c clockwork.Clock) Option { return func(s *OAuthServer) { s.clock = c } }

// WithClientID makes the server reject other client ids with invalid_client.
func WithClientID(id string) Option { return func(s *OAuthServer) { s.clientID = id } }

// WithAccessTTL sets expires_in of issued access tokens (default 1h; 0 omits expires_in).
func WithAccessTTL(d time.Duration) Option { return func(s *OAuthServer) { s.accessTTL = d } }

// WithRefreshTTL makes refresh tokens expire after d (default: never);
// an expired one is invalid_grant.
func WithRefreshTTL(d time.Duration) Option { return func(s *OAuthServer) { s.refreshTTL = d } }

// WithExpiresInString sends expires_in as a string, as some servers do.
func WithExpiresInString() Option { return func(s *OAuthServer) { s.expiresAsString = true } }

// WithoutRotation answers refreshes without a new refresh token; the old one
// stays valid.
func WithoutRotation() Option { return func(s *OAuthServer) { s.noRotation = true } }

// WithAccessRevokedOnRefresh makes a refresh end the access tokens the
// grant was issued before, as some providers do: a client must switch to
// the new access token at once.
func WithAccessRevokedOnRefresh() Option { return func(s *OAuthServer) { s.revokeOnRefresh = true } }

// WithoutDeviceDiscovery leaves device_authorization_endpoint out of the
// discovery document, as servers without the device flow do.
func WithoutDeviceDiscovery() Option { return func(s *OAuthServer) { s.noDeviceDiscovery = true } }

// WithDeviceInterval sets the poll interval the device flow asks for
// (whole seconds on the wire; default 1s).
func WithDeviceInterval(d time.Duration) Option { return func(s *OAuthServer) { s.deviceInterval = d } }

// WithDeviceTTL sets how long a user code lives (default 10m).
func WithDeviceTTL(d time.Duration) Option { return func(s *OAuthServer) { s.deviceTTL = d } }

// WithManualApproval holds browser authorizations until ReleaseAuthorize
// and device codes until Approve or Deny; without it everything is
// approved at once (device codes after one pending poll).
func WithManualApproval() Option { return func(s *OAuthServer) { s.manual = true } }

// WithAuthorizeError makes /authorize redirect back with error=code.
func WithAuthorizeError(code, description string) Option {
	return func(s *OAuthServer) { s.authErr, s.authErrDesc = code, description }
}

// WithIdentity sets the subject and email put in id_tokens.
func WithIdentity(subject, email string) Option {
	return func(s *OAuthServer) { s.subject, s.email = subject, email }
}

// WithIDTokenClaims adds claims to every id_token (Codex's
// "https://api.openai.com/auth" object, for instance).
func WithIDTokenClaims(claims map[string]any) Option {
	return func(s *OAuthServer) { s.extraClaims = claims }
}

// WithTokenExtras adds fields to every token response (Claude's account
// and organization objects, for instance).
func WithTokenExtras(fields map[string]any) Option {
	return func(s *OAuthServer) { s.extraFields = fields }
}

// WithResponseScope overrides the scope the token response reports
// ("" = echo what was asked; "-" = omit it).
func WithResponseScope(scope string) Option { return func(s *OAuthServer) { s.responseScope = scope } }

// OAuthServer is a loopback OAuth 2.0 + OIDC provider: authorize with PKCE
// S256, code exchange (form or JSON bodies), RFC 8628 device flow,
// single-use rotating refresh tokens, discovery, JWKS and RS256 id_tokens,
// plus fault injection and call counters. All methods are safe for
// concurrent use.
type OAuthServer struct {
	srv   *httptest.Server
	clock clockwork.Clock

	clientID        string
	accessTTL       time.Duration
	refreshTTL      time.Duration
	expiresAsString bool
	noRotation      bool
	revokeOnRefresh bool
	// noDeviceDiscovery leaves the device endpoint out of discovery.
	noDeviceDiscovery bool
	deviceInterval    time.Duration
	deviceTTL         time.Duration
	manual            bool
	authErr           string
	authErrDesc       string
	subject, email    string
	extraClaims       map[string]any
	extraFields       map[string]any
	responseScope     string

	mu          sync.Mutex // guards every field below
	counts      Counts
	codes       map[string]*authCode
	refresh     map[string]*refreshGrant
	access      map[string]time.Time // access token → expiry (zero: none)
	devices     map[string]*deviceGrantState
	faults      []Fault
	held        []chan bool // browser authorizations waiting for ReleaseAuthorize
	lastRefresh string
	script      []string
	stalled     int           // calls held by FaultStall right now
	stallGate   chan struct{} // closed by ReleaseStalls
	stallSeen   chan struct{} // closed (and replaced) each time a call stalls
}

type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	scope       string
	nonce       string
	expires     time.Time
	used        bool
}

type refreshGrant struct {
	clientID string
	scope    string
	expires  time.Time // zero: never
	used     bool
	// family is shared by every refresh token descending from one login;
	// reusing any of them revokes the family.
	family *grantFamily
}

// grantFamily is one login's chain of rotated refresh tokens.
type grantFamily struct {
	revoked bool
	access  []string // access tokens issued to the family
}

type deviceGrantState struct {
	userCode string
	clientID string
	scope    string
	expires  time.Time
	interval time.Duration
	lastPoll time.Time
	polls    int
	decision string // "", DeviceApprove, DeviceDenied
	script   []string
	done     bool
}

// NewOAuthServer starts a server on 127.0.0.1. Close it when done.
func NewOAuthServer(opts ...Option) *OAuthServer {
	s := &OAuthServer{
		clock:          clockwork.NewRealClock(),
		accessTTL:      time.Hour,
		deviceInterval: time.Second,
		deviceTTL:      10 * time.Minute,
		subject:        "user-1234",
		email:          "user@example.com",
		codes:          map[string]*authCode{},
		refresh:        map[string]*refreshGrant{},
		access:         map[string]time.Time{},
		devices:        map[string]*deviceGrantState{},
		stallGate:      make(chan struct{}),
		stallSeen:      make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.handleAuthorize)
	mux.HandleFunc("POST /token", s.handleToken)
	mux.HandleFunc("POST /device/code", s.handleDeviceAuth)
	mux.HandleFunc("GET /device", s.handleDevicePage)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET /jwks", s.handleJWKS)
	mux.HandleFunc("POST /revoke", s.handleRevoke)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close stops the server, releasing held authorizations.
func (s *OAuthServer) Close() {
	s.ReleaseAuthorize(false)
	s.srv.Close()
}

// URL is the server's base URL.
func (s *OAuthServer) URL() string { return s.srv.URL }

// Issuer is the OIDC issuer (the base URL).
func (s *OAuthServer) Issuer() string { return s.srv.URL }

// AuthURL is the authorize endpoint.
func (s *OAuthServer) AuthURL() string { return s.srv.URL + "/authorize" }

// TokenURL is the token endpoint.
func (s *OAuthServer) TokenURL() string { return s.srv.URL + "/token" }

// DeviceURL is the device authorization endpoint.
func (s *OAuthServer) DeviceURL() string { return s.srv.URL + "/device/code" }

// JWKSURL is where the id_token signing key is published.
func (s *OAuthServer) JWKSURL() string { return s.srv.URL + "/jwks" }

// RevocationURL is the RFC 7009 revocation endpoint.
func (s *OAuthServer) RevocationURL() string { return s.srv.URL + "/revoke" }

// Counts returns the call counters so far.
func (s *OAuthServer) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// LastRefreshToken is the refresh token issued most recently ("" before any).
func (s *OAuthServer) LastRefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastRefresh
}

// ValidAccessToken reports whether tok was issued here and has not expired,
// for fake upstream APIs.
func (s *OAuthServer) ValidAccessToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.access[tok]
	return ok && (exp.IsZero() || s.clock.Now().Before(exp))
}

// RevokeRefreshToken makes tok unusable, as a revocation on the provider's
// side would.
func (s *OAuthServer) RevokeRefreshToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.refresh[tok]; ok {
		g.used = true
		if g.family != nil {
			s.revokeFamily(g.family)
		}
	}
}

// IssueRefreshToken mints a valid refresh token for clientID without a
// login, to seed stored credentials in tests and the demo.
func (s *OAuthServer) IssueRefreshToken(clientID, scope string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := randomToken("fake-rt-")
	g := s.newRefreshGrant(clientID, scope)
	g.family = &grantFamily{}
	s.refresh[tok] = g
	s.lastRefresh = tok
	return tok
}

// Stalled is how many token calls FaultStall holds right now.
func (s *OAuthServer) Stalled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalled
}

// StallSeen returns a channel closed when the next call starts stalling,
// so a test knows the token call is in flight without polling.
func (s *OAuthServer) StallSeen() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stallSeen
}

// ReleaseStalls lets every stalled call answer normally; later FaultStall
// faults stall again.
func (s *OAuthServer) ReleaseStalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.stallGate)
	s.stallGate = make(chan struct{})
}

// InjectTokenFault makes the next times token-endpoint calls answer f.
func (s *OAuthServer) InjectTokenFault(f Fault, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults = append(s.faults, f)
	}
}

// ScriptDevice sets the answers of the next device code's polls, in order
// (DevicePending, DeviceSlowDown, DeviceDenied, DeviceExpired,
// DeviceApprove). After the script the code follows the normal rules.
func (s *OAuthServer) ScriptDevice(steps ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append([]string(nil), steps...)
}

// Approve approves the pending device code with userCode ("" = all).
func (s *OAuthServer) Approve(userCode string) { s.decide(userCode, DeviceApprove) }

// Deny denies the pending device code with userCode ("" = all).
func (s *OAuthServer) Deny(userCode string) { s.decide(userCode, DeviceDenied) }

func (s *OAuthServer) decide(userCode, decision string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if !d.done && (userCode == "" || d.userCode == userCode) {
			d.decision = decision
		}
	}
}

// PendingAuthorizations is how many browser authorizations wait for
// ReleaseAuthorize (WithManualApproval).
func (s *OAuthServer) PendingAuthorizations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// ReleaseAuthorize answers every held browser authorization: approve
// redirects with a code, otherwise with error=access_denied.
func (s *OAuthServer) ReleaseAuthorize(approve bool) {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, ch := range held {
		ch <- approve
	}
}

func (s *OAuthServer) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.counts.Authorize++
	s.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("redirect_uri") == "" || redirect.Scheme == "" {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}
	if s.clientID != "" && q.Get("client_id") != s.clientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		params.Set("state", q.Get("state"))
		params.Set("iss", s.Issuer()) // RFC 9207, as discovery advertises
		u := *redirect
		u.RawQuery = params.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	switch {
	case s.authErr != "":
		back(url.Values{"error": {s.authErr}, "error_description": {s.authErrDesc}})
		return
	case q.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		back(url.Values{"error": {"invalid_request"}, "error_description": {"PKCE S256 is required"}})
		return
	}
	if s.manual {
		ch := make(chan bool, 1)
		s.mu.Lock()
		s.held = append(s.held, ch)
		s.mu.Unlock()
		select {
		case ok := <-ch:
			if !ok {
				back(url.Values{"error": {"access_denied"}, "error_description": {"the user denied the request"}})
				return
			}
		case <-r.Context().Done():
			return
		}
	}
	code := randomToken("fake-code-")
	s.mu.Lock()
	s.codes[code] = &authCode{
		clientID:    q.Get("client_id"),
		redirectURI: q.Get("redirect_uri"),
		challenge:   q.Get("code_challenge"),
		scope:       q.Get("scope"),
		nonce:       q.Get("nonce"),
		expires:     s.clock.Now().Add(10 * time.Minute),
	}
	s.mu.Unlock()
	back(url.Values{"code": {code}})
}

// params reads a token request as form or JSON, plus HTTP Basic client
// credentials.
func params(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	v := url.Values{}
	if ct == "application/json" {
		var m map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&m); err != nil {
			return nil, err
		}
		for k, x := range m {
			switch x := x.(type) {
			case string:
				v.Set(k, x)
			case nil:
			default:
				v.Set(k, fmt.Sprint(x))
			}
		}
	} else {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		v = r.PostForm
	}
	if id, _, ok := r.BasicAuth(); ok && v.Get("client_id") == "" {
		id, _ = url.QueryUnescape(id)
		v.Set("client_id", id)
	}
	return v, nil
}

func (s *OAuthServer) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts.Token++
	var fault *Fault
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	}
	s.mu.Unlock()
	if fault != nil {
		if fault.Reset {
			resetConnection(w)
			return
		}
		if fault.Stall && !s.stall(r) {
			return
		}
		if fault.Delay > 0 {
			// Consume the body first: only then does net/http watch the
			// connection and cancel r.Context() when the client gives up.
			body, _ := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
			r.Body = io.NopCloser(bytes.NewReader(body))
			t := time.NewTimer(fault.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
			t.Stop()
		}
		if fault.Status != 0 {
			for k, vs := range fault.Header {
				w.Header()[k] = vs
			}
			w.Header().Set("Content-Type", fault.ContentType)
			w.WriteHeader(fault.Status)
			_, _ = w.Write([]byte(fault.Body))
			return
		}
	}
	v, err := params(r)
	if err != nil {
		oauthErr(w, http.StatusBadRequest, "invalid_request", "the body does not parse")
		return
	}
	if s.clientID != "" && v.Get("client_id") != s.clientID {
		oauthErr(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	switch v.Get("grant_type") {
	case "authorization_code":
		s.exchange(w, v)
	case "refresh_token":
		s.refreshGrant(w, v)
	case deviceGrant:
		s.devicePoll(w, v)
	default:
		oauthErr(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

// stall holds r until ReleaseStalls (true) or the client leaves (false).
func (s *OAuthServer) stall(r *http.Request) bool {
	// Read the body first: only then does net/http notice a client that
	// gives up and cancel r.Context().
	body, _ := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	gate := s.stallGate
	s.stalled++
	close(s.stallSeen)
	s.stallSeen = make(chan struct{})
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.stalled--
		s.mu.Unlock()
	}()
	select {
	case <-gate:
		return true
	case <-r.Context().Done():
		return false
	}
}

// resetConnection closes the client's connection without a response.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0) // RST rather than FIN
	}
	_ = conn.Close()
}

func (s *OAuthServer) exchange(w http.ResponseWriter, v url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[v.Get("code")]
	switch {
	case !ok:
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "unknown authorization code")
		return
	case c.used:
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "authorization code already used")
		return
	case !s.clock.Now().Before(c.expires):
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "authorization code expired")
		return
	}
	// A code is spent by any attempt, right or wrong (RFC 6749 §4.1.2).
	c.used = true
	sum := sha256.Sum256([]byte(v.Get("code_verifier")))
	switch {
	case v.Get("redirect_uri") != c.redirectURI:
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization")
	case v.Get("client_id") != c.clientID:
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "client_id does not match the authorization")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the challenge")
	default:
		s.counts.Exchange++
		s.issue(w, c.clientID, c.scope, c.nonce, true)
	}
}

func (s *OAuthServer) refreshGrant(w http.ResponseWriter, v url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.refresh[v.Get("refresh_token")]
	switch {
	case !ok:
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "unknown refresh token")
		return
	case g.family != nil && g.family.revoked:
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "the grant was revoked")
		return
	case g.used:
		if g.family != nil {
			// A rotated-away token came back: someone holds a copy it
			// should not. Revoke the whole grant (RFC 9700 §4.14.2).
			s.counts.Reuse++
			s.revokeFamily(g.family)
		}
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "refresh token already used; the grant is revoked")
		return
	case !g.expires.IsZero() && !s.clock.Now().Before(g.expires):
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "refresh token expired")
		return
	case g.clientID != v.Get("client_id"):
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "refresh token belongs to another client")
		return
	}
	if !s.noRotation {
		g.used = true
	}
	s.counts.Refresh++
	if s.revokeOnRefresh && g.family != nil {
		for _, at := range g.family.access {
			delete(s.access, at)
		}
		g.family.access = nil
	}
	s.issueIn(w, g.family, g.clientID, g.scope, "", !s.noRotation)
}

// revokeFamily ends every refresh and access token of f; s.mu is held.
func (s *OAuthServer) revokeFamily(f *grantFamily) {
	f.revoked = true
	for _, at := range f.access {
		delete(s.access, at)
	}
	f.access = nil
}

// Revoked reports whether the grant tok belongs to was revoked.
func (s *OAuthServer) Revoked(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.refresh[tok]
	return ok && g.family != nil && g.family.revoked
}

// newRefreshGrant records a refresh token's owner and lifetime; s.mu is held.
func (s *OAuthServer) newRefreshGrant(clientID, scope string) *refreshGrant {
	g := &refreshGrant{clientID: clientID, scope: scope}
	if s.refreshTTL > 0 {
		g.expires = s.clock.Now().Add(s.refreshTTL)
	}
	return g
}

// issue writes the token response of a new grant; s.mu is held.
func (s *OAuthServer) issue(w http.ResponseWriter, clientID, scope, nonce string, withRefresh bool) {
	s.issueIn(w, &grantFamily{}, clientID, scope, nonce, withRefresh)
}

// issueIn writes a token response for family f (nil: a grant seeded by
// IssueRefreshToken before this rule existed gets one now); s.mu is held.
func (s *OAuthServer) issueIn(w http.ResponseWriter, f *grantFamily, clientID, scope, nonce string, withRefresh bool) {
	if f == nil {
		f = &grantFamily{}
	}
	now := s.clock.Now()
	at := randomToken("fake-at-")
	var exp time.Time
	if s.accessTTL > 0 {
		exp = now.Add(s.accessTTL)
	}
	s.access[at] = exp
	f.access = append(f.access, at)
	resp := map[string]any{"access_token": at, "token_type": "Bearer"}
	for k, x := range s.extraFields {
		resp[k] = x
	}
	if s.accessTTL > 0 {
		secs := int64(s.accessTTL / time.Second)
		if s.expiresAsString {
			resp["expires_in"] = strconv.FormatInt(secs, 10)
		} else {
			resp["expires_in"] = secs
		}
	}
	if withRefresh {
		rt := randomToken("fake-rt-")
		g := s.newRefreshGrant(clientID, scope)
		g.family = f
		s.refresh[rt] = g
		s.lastRefresh = rt
		resp["refresh_token"] = rt
	}
	switch s.responseScope {
	case "":
		if scope != "" {
			resp["scope"] = scope
		}
	case "-":
	default:
		resp["scope"] = s.responseScope
	}
	if hasScope(scope, "openid") {
		if idt, err := s.idToken(clientID, nonce, now); err == nil {
			resp["id_token"] = idt
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *OAuthServer) handleDeviceAuth(w http.ResponseWriter, r *http.Request) {
	v, err := params(r)
	if err != nil {
		oauthErr(w, http.StatusBadRequest, "invalid_request", "the body does not parse")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.DeviceAuth++
	if s.clientID != "" && v.Get("client_id") != s.clientID {
		oauthErr(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	dc := randomToken("fake-dc-")
	uc := userCode()
	interval := s.deviceInterval
	if interval < time.Second {
		interval = time.Second
	}
	d := &deviceGrantState{
		userCode: uc,
		clientID: v.Get("client_id"),
		scope:    v.Get("scope"),
		expires:  s.clock.Now().Add(s.deviceTTL),
		interval: interval,
		script:   s.script,
	}
	s.script = nil
	s.devices[dc] = d
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               dc,
		"user_code":                 uc,
		"verification_uri":          s.srv.URL + "/device",
		"verification_uri_complete": s.srv.URL + "/device?user_code=" + uc,
		"expires_in":                int64(s.deviceTTL / time.Second),
		"interval":                  int64(interval / time.Second),
	})
}

func (s *OAuthServer) devicePoll(w http.ResponseWriter, v url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.DevicePoll++
	d, ok := s.devices[v.Get("device_code")]
	if !ok || d.done {
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "unknown device code")
		return
	}
	now := s.clock.Now()
	d.polls++
	step := ""
	if len(d.script) > 0 {
		step, d.script = d.script[0], d.script[1:]
	} else {
		switch {
		case !now.Before(d.expires):
			step = DeviceExpired
		case !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval:
			step = DeviceSlowDown
		case d.decision != "":
			step = d.decision
		case !s.manual && d.polls > 1:
			step = DeviceApprove
		default:
			step = DevicePending
		}
	}
	d.lastPoll = now
	switch step {
	case DeviceApprove:
		d.done = true
		s.issue(w, d.clientID, d.scope, "", true)
	case DeviceSlowDown:
		d.interval += 5 * time.Second
		oauthErr(w, http.StatusBadRequest, DeviceSlowDown, "polling too fast")
	case DeviceDenied, DeviceExpired:
		d.done = true
		oauthErr(w, http.StatusBadRequest, step, "")
	default:
		oauthErr(w, http.StatusBadRequest, DevicePending, "")
	}
}

func (s *OAuthServer) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Device login</title><p>Enter the code %s in your terminal's app.</p>",
		html.EscapeString(r.URL.Query().Get("user_code")))
}

func (s *OAuthServer) handleDiscovery(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.counts.Discovery++
	s.mu.Unlock()
	doc := map[string]any{
		"issuer":                                         s.Issuer(),
		"authorization_endpoint":                         s.AuthURL(),
		"token_endpoint":                                 s.TokenURL(),
		"device_authorization_endpoint":                  s.DeviceURL(),
		"jwks_uri":                                       s.JWKSURL(),
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"revocation_endpoint":                            s.RevocationURL(),
		"authorization_response_iss_parameter_supported": true,
		"grant_types_supported":                          []string{"authorization_code", "refresh_token", deviceGrant},
		"scopes_supported":                               []string{"openid", "profile", "email", "offline_access"},
	}
	if s.noDeviceDiscovery {
		delete(doc, "device_authorization_endpoint")
	}
	writeJSON(w, http.StatusOK, doc)
}

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]any{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func hasScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if s == want {
			return true
		}
	}
	return false
}

func randomToken(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// userCode is eight letters from an unambiguous alphabet, as RFC 8628 §6.1 suggests.
func userCode() string {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 9)
	for i, x := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, alphabet[int(x)%len(alphabet)])
	}
	return string(out)
}

// handleRevoke is RFC 7009: the token (a refresh token, or an access token)
// stops working, and the answer is 200 whether or not it was known.
func (s *OAuthServer) handleRevoke(w http.ResponseWriter, r *http.Request) {
	v, err := params(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Revoke++
	switch {
	case err != nil || v.Get("token") == "":
		oauthErr(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	case s.clientID != "" && v.Get("client_id") != s.clientID:
		oauthErr(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	tok := v.Get("token")
	if g, ok := s.refresh[tok]; ok {
		g.used = true
	}
	delete(s.access, tok)
	w.WriteHeader(http.StatusOK)
}
