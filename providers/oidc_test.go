package providers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

func oidcRegistry(t *testing.T, clock clockwork.Clock, pc Spec) *Provider {
	t.Helper()
	pc.Type = "oidc"
	return get(t, registry(t, clock, map[string]Spec{"corp": pc}), "corp")
}

func TestOIDCNoNetworkUntilUsed(t *testing.T) {
	srv := fake.NewOAuthServer()
	defer srv.Close()
	p := oidcRegistry(t, clockwork.NewFakeClockAt(testNow), Spec{Issuer: srv.Issuer(), ClientID: "ccproxy", APIBase: "https://llm.example.com"})
	if n := srv.Counts().Discovery; n != 0 {
		t.Fatalf("NewRegistry ran discovery %d times", n)
	}
	// Every flow an issuer's endpoints may allow is offered; discovery
	// later says whether the device endpoint exists.
	if p.OAuth.AuthURL != "" || p.ErrorFormat() != "openai" || !slices.Equal(p.Flows, []auth.Flow{auth.FlowBrowser, auth.FlowPaste, auth.FlowDevice}) {
		t.Errorf("before discovery: auth=%q format=%s flows=%v", p.OAuth.AuthURL, p.ErrorFormat(), p.Flows)
	}
	ctx := context.Background()
	for range 2 {
		cfg, err := p.OAuthConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The discovered device endpoint is used whatever flow is the
		// default.
		if cfg.AuthURL != srv.AuthURL() || cfg.TokenURL != srv.TokenURL() || cfg.DeviceURL != srv.DeviceURL() {
			t.Errorf("discovered auth=%s token=%s device=%s", cfg.AuthURL, cfg.TokenURL, cfg.DeviceURL)
		}
	}
	if n := srv.Counts().Discovery; n != 1 {
		t.Errorf("discovery ran %d times, want once (cached)", n)
	}
	if u, err := p.BaseURL(auth.Credentials{}); err != nil || u.String() != "https://llm.example.com" {
		t.Errorf("base = %v %v", u, err)
	}
}

// A gateway that speaks the Anthropic API gets Anthropic-shaped errors from
// the proxy (and ANTHROPIC_* variables from `env`) when the config says so.
func TestOIDCAPIFormat(t *testing.T) {
	for _, tc := range []struct{ set, want string }{{"", "openai"}, {"openai", "openai"}, {"anthropic", "anthropic"}} {
		t.Run("api_format="+tc.set, func(t *testing.T) {
			p := oidcRegistry(t, clockwork.NewFakeClockAt(testNow), Spec{
				Issuer: "http://127.0.0.1:1", ClientID: "ccproxy", APIBase: "https://llm.example.com", APIFormat: tc.set})
			if got := p.ErrorFormat(); got != tc.want {
				t.Errorf("ErrorFormat() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOIDCBrowserLogin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := clockwork.NewFakeClockAt(testNow)
	srv := fake.NewOAuthServer(fake.WithClock(clock), fake.WithClientID("ccproxy"), fake.WithIdentity("user-42", "ada@example.com"))
	defer srv.Close()
	p := oidcRegistry(t, clock, Spec{Issuer: srv.Issuer(), ClientID: "ccproxy"})
	cfg, err := p.OAuthConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	login, err := cfg.StartBrowser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer login.Close()
	if r := login.RedirectURL(); !strings.HasPrefix(r, "http://127.0.0.1:") || !strings.HasSuffix(r, "/callback") || login.Port() == 0 {
		t.Errorf("redirect = %s", r)
	}
	for _, want := range []string{"code_challenge_method=S256", "scope=openid+offline_access+email+profile"} {
		if !strings.Contains(login.URL(), want) {
			t.Errorf("authorize URL lacks %s", want)
		}
	}
	// The fake approves at once and redirects the "browser" to the callback.
	wait := waitLogin(ctx, login)
	resp, err := http.Get(login.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	creds, err := wait()
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if creds.AccountID != "user-42" || creds.Email != "ada@example.com" || creds.IDToken == "" || creds.RefreshToken == "" {
		t.Errorf("credentials = %v email=%q", creds, creds.Email)
	}
	if srv.Counts().JWKS == 0 {
		t.Error("the id_token was not checked against the JWKS")
	}

	next, err := p.Refresh(ctx, creds)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if next.RefreshToken == creds.RefreshToken || next.AccountID != "user-42" {
		t.Errorf("refresh: rotated=%v account=%q", next.RefreshToken != creds.RefreshToken, next.AccountID)
	}
}

// Over SSH without a tunnel the browser elsewhere cannot reach the loopback
// callback; the user pastes the address it failed to load instead.
func TestOIDCPasteLogin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := clockwork.NewFakeClockAt(testNow)
	srv := fake.NewOAuthServer(fake.WithClock(clock), fake.WithClientID("ccproxy"), fake.WithIdentity("user-7", "bo@example.com"))
	defer srv.Close()
	p := oidcRegistry(t, clock, Spec{Issuer: srv.Issuer(), ClientID: "ccproxy", Flow: "paste"})
	cfg, err := p.OAuthConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	login, err := cfg.StartPaste(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The "browser" is approved and sent to the callback, which nothing
	// answers; the address it was sent to is what the user copies.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(login.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	addr := resp.Header.Get("Location")
	if !strings.Contains(addr, "code=") {
		t.Fatalf("the fake did not redirect with a code: status %d", resp.StatusCode)
	}
	creds, err := login.Complete(ctx, "  '"+addr+"'\n")
	if err != nil {
		t.Fatalf("paste: %v", err)
	}
	if creds.AccountID != "user-7" || creds.Email != "bo@example.com" || creds.RefreshToken == "" {
		t.Errorf("credentials = %v email=%q", creds, creds.Email)
	}
}

func TestOIDCDeviceLogin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := clockwork.NewFakeClockAt(testNow)
	srv := fake.NewOAuthServer(fake.WithClock(clock), fake.WithClientID("ccproxy"), fake.WithIdentity("dev-7", "grace@example.com"))
	defer srv.Close()
	p := oidcRegistry(t, clock, Spec{Issuer: srv.Issuer(), ClientID: "ccproxy", Flow: "device"})
	// flow = "device" picks the default; the browser and paste stay offered.
	if !slices.Equal(p.Flows, []auth.Flow{auth.FlowDevice, auth.FlowBrowser, auth.FlowPaste}) {
		t.Fatalf("flows = %v", p.Flows)
	}
	cfg, err := p.OAuthConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var creds auth.Credentials
	go func() {
		defer close(done)
		creds, err = cfg.DeviceLogin(ctx, nil)
	}()
	running, stop := context.WithCancel(ctx)
	go func() { <-done; stop() }()
	for clock.BlockUntilContext(running, 1) == nil {
		clock.Advance(time.Second)
	}
	<-done
	if err != nil {
		t.Fatalf("device login: %v", err)
	}
	if creds.AccountID != "dev-7" || creds.Email != "grace@example.com" {
		t.Errorf("identity = %q/%q", creds.AccountID, creds.Email)
	}
}

// TestOIDCRejectsForeignKey serves an id_token that claims the fake's issuer
// and key id but is signed by another key; the JWKS check must refuse it.
func TestOIDCRejectsForeignKey(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(testNow)
	srv := fake.NewOAuthServer(fake.WithClock(clock))
	defer srv.Close()
	rogue, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(key *rsa.PrivateKey) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "fake-key-1"))
		if err != nil {
			t.Fatal(err)
		}
		claims, _ := json.Marshal(map[string]any{"iss": srv.Issuer(), "aud": "ccproxy", "sub": "mallory",
			"email": "mallory@example.com", "iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix()})
		jws, err := signer.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := jws.CompactSerialize()
		return s
	}
	ep := newEndpoint(t)
	body, _ := json.Marshal(map[string]any{"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600, "id_token": sign(rogue)})
	ep.answer("/token", 200, string(body))
	p := oidcRegistry(t, clock, Spec{Issuer: srv.Issuer(), ClientID: "ccproxy", TokenURL: ep.URL + "/token"})
	_, err = p.Refresh(ctx, auth.Credentials{Provider: "corp", RefreshToken: "rt-0"})
	if err == nil || !strings.Contains(err.Error(), "id_token") {
		t.Fatalf("err = %v, want the id_token refused", err)
	}
	if strings.Contains(err.Error(), "eyJ") {
		t.Errorf("error quotes a token: %v", err)
	}
	if srv.Counts().JWKS == 0 {
		t.Error("the fake's JWKS was never consulted")
	}
}

func TestOIDCFlows(t *testing.T) {
	b, p, d := auth.FlowBrowser, auth.FlowPaste, auth.FlowDevice
	for _, tc := range []struct {
		name string
		pc   Spec
		want []auth.Flow
		err  string
	}{
		{"issuer offers everything", Spec{Issuer: "https://sso.example.com"}, []auth.Flow{b, p, d}, ""},
		{"flow picks the default", Spec{Issuer: "https://sso.example.com", Flow: "device"}, []auth.Flow{d, b, p}, ""},
		{"paste as the default", Spec{Issuer: "https://sso.example.com", Flow: "paste"}, []auth.Flow{p, b, d}, ""},
		{"explicit endpoints without a device endpoint", Spec{AuthorizeURL: "https://a", TokenURL: "https://t"}, []auth.Flow{b, p}, ""},
		{"device endpoint only", Spec{DeviceURL: "https://d", TokenURL: "https://t"}, []auth.Flow{d}, ""},
		{"explicit endpoints with a device endpoint", Spec{AuthorizeURL: "https://a", DeviceURL: "https://d", TokenURL: "https://t", Flow: "browser"},
			[]auth.Flow{b, p, d}, ""},
		{"device asked for, nowhere to do it", Spec{AuthorizeURL: "https://a", TokenURL: "https://t", Flow: "device"}, nil, "device_url"},
		{"browser asked for, nowhere to do it", Spec{DeviceURL: "https://d", TokenURL: "https://t", Flow: "browser"}, nil, "authorize_url"},
		{"no login endpoint at all", Spec{TokenURL: "https://t"}, nil, "issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := oidcFlows(tc.pc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("flows = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
