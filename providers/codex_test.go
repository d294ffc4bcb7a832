package providers

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// exp of the synthetic Codex access tokens in testdata.
var codexAccessExp = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

func TestCodexAuthorizeURL(t *testing.T) {
	p := get(t, registry(t, clockwork.NewFakeClockAt(testNow), nil), Codex)
	if p.OAuth.RedirectURL != "http://localhost:1455/auth/callback" || len(p.OAuth.FallbackPorts) != 1 || p.OAuth.FallbackPorts[0] != 1457 {
		t.Errorf("redirect %s fallback %v", p.OAuth.RedirectURL, p.OAuth.FallbackPorts)
	}
	q, base := authorizeParams(t, p.OAuth, auth.FlowBrowser)
	if base != "https://auth.openai.com/oauth/authorize" {
		t.Errorf("authorize endpoint = %s", base)
	}
	want := set("client_id", "response_type", "redirect_uri", "scope", "code_challenge", "code_challenge_method",
		"state", "id_token_add_organizations", "codex_cli_simplified_flow", "originator")
	if got := formKeys(q); !maps.Equal(got, want) {
		t.Errorf("params = %v, want exactly %v", got, want)
	}
	for k, v := range map[string]string{
		"client_id":                  "app_EMoamEEZ73f0CkXaXp7hrann",
		"response_type":              "code",
		"scope":                      "openid profile email offline_access",
		"code_challenge_method":      "S256",
		"id_token_add_organizations": "true",
		"codex_cli_simplified_flow":  "true",
		"originator":                 "ccproxy-tui",
	} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if r := q.Get("redirect_uri"); !strings.HasPrefix(r, "http://localhost:") || !strings.HasSuffix(r, "/auth/callback") {
		t.Errorf("redirect_uri = %q", r)
	}
}

// codexProvider points codex at a loopback issuer.
func codexProvider(t *testing.T, clock clockwork.Clock, ep *endpoint) *Provider {
	return get(t, registry(t, clock, map[string]Spec{Codex: {Issuer: ep.URL}}), Codex)
}

func TestCodexBrowserExchangeAndRefresh(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(testNow)
	ep := newEndpoint(t)
	ep.answer("/oauth/token", 200, fixture(t, "codex_token_response.json"))
	p := codexProvider(t, clock, ep)
	cfg := p.OAuth
	cfg.RedirectURL = "http://localhost:0/auth/callback"
	login, err := cfg.StartBrowser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer login.Close()
	u, _ := url.Parse(login.URL())
	state := u.Query().Get("state")
	wait := waitLogin(ctx, login)
	resp, err := http.Get(login.RedirectURL() + "?code=synthetic-code&state=" + url.QueryEscape(state))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	creds, err := wait()
	if err != nil {
		t.Fatalf("login: %v", err)
	}

	ex := ep.last(t, "/oauth/token")
	t.Run("exchange is form-encoded without state", func(t *testing.T) {
		if ex.ContentType != "application/x-www-form-urlencoded" {
			t.Fatalf("content type = %q", ex.ContentType)
		}
		want := set("grant_type", "code", "redirect_uri", "client_id", "code_verifier")
		if got := formKeys(ex.Form); !maps.Equal(got, want) {
			t.Errorf("fields = %v, want exactly %v", got, want)
		}
		if ex.Form.Get("code") != "synthetic-code" || ex.Form.Get("redirect_uri") != login.RedirectURL() ||
			ex.Form.Get("client_id") != codexClientID || ex.Form.Get("grant_type") != "authorization_code" {
			t.Errorf("form fields = %v", formKeys(ex.Form))
		}
	})
	t.Run("identity from the id_token, expiry from the access token", func(t *testing.T) {
		if creds.AccountID != "acct-synthetic-0001" || creds.Plan != "plus" || creds.Email != "dev@example.com" {
			t.Errorf("account=%q plan=%q email=%q", creds.AccountID, creds.Plan, creds.Email)
		}
		if creds.IDToken == "" || creds.Extra["chatgpt_user_id"] != "user-synthetic-0001" {
			t.Errorf("id token kept=%v extra=%v", creds.IDToken != "", creds.Extra)
		}
		if !creds.ExpiresAt.Equal(codexAccessExp) {
			t.Errorf("expires %v, want the access token's exp %v", creds.ExpiresAt, codexAccessExp)
		}
	})

	ep.answer("/oauth/token", 200, fixture(t, "codex_refresh_response.json"))
	next, err := p.OAuth.Refresh(ctx, creds)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	rf := ep.last(t, "/oauth/token")
	t.Run("refresh is JSON without scope", func(t *testing.T) {
		if rf.ContentType != "application/json" {
			t.Fatalf("content type = %q", rf.ContentType)
		}
		if got, want := keysOf(rf.JSON), set("client_id", "grant_type", "refresh_token"); !maps.Equal(got, want) {
			t.Errorf("fields = %v, want exactly %v", got, want)
		}
		if rf.JSON["refresh_token"] != "rt_synthetic_codex_refresh_0001" || rf.JSON["grant_type"] != "refresh_token" {
			t.Error("wrong refresh token or grant type sent")
		}
	})
	t.Run("refresh without id_token keeps the id_token identity, rotates", func(t *testing.T) {
		if next.RefreshToken != "rt_synthetic_codex_refresh_0002" {
			t.Errorf("refresh token not rotated: %s", auth.MaskRefresh(next.RefreshToken))
		}
		// The id_token from login still names the account; its claims win
		// over the new access token's.
		if next.AccountID != "acct-synthetic-0001" || next.Email != "dev@example.com" {
			t.Errorf("identity = %q/%q", next.AccountID, next.Email)
		}
		if !next.ExpiresAt.Equal(codexAccessExp.Add(time.Hour)) {
			t.Errorf("expiry %v not taken from the new access token", next.ExpiresAt)
		}
	})
}

func TestCodexIdentityFallbacks(t *testing.T) {
	access := stringValue(mustJSON(t, fixture(t, "codex_refresh_response.json"))["access_token"])
	for _, tc := range []struct {
		name             string
		idToken, access  string
		account, plan, e string
	}{
		{"access token claims when no id_token", "", access, "acct-from-access", "pro", "access@example.com"},
		{"garbage tokens yield nothing", "x.y", "not-a-jwt", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := codexIdentityOf(tc.idToken, tc.access)
			if id.AccountID != tc.account || id.Plan != tc.plan || id.Email != tc.e {
				t.Errorf("got %+v", id)
			}
		})
	}
}

func TestCodexDeviceLogin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := clockwork.NewFakeClockAt(testNow)
	ep := newEndpoint(t)
	ep.on("/api/accounts/deviceauth/usercode", 200, `{"device_auth_id":"dev-auth-1","user_code":"ABCD-1234","interval":"5"}`)
	ep.on("/api/accounts/deviceauth/token", 403, `{"error":"authorization_pending"}`)
	ep.on("/api/accounts/deviceauth/token", 404, `{}`)
	ep.on("/api/accounts/deviceauth/token", 200, `{"authorization_code":"dev-code-9","code_challenge":"c","code_verifier":"server-verifier-0123456789012345678901234567890123"}`)
	ep.answer("/oauth/token", 200, fixture(t, "codex_token_response.json"))
	p := codexProvider(t, clock, ep)

	shown := make(chan auth.DeviceCode, 1)
	done := make(chan struct{})
	var creds auth.Credentials
	var err error
	go func() {
		defer close(done)
		creds, err = p.OAuth.DeviceLogin(ctx, func(d auth.DeviceCode) { shown <- d })
	}()
	dc := <-shown
	if dc.UserCode != "ABCD-1234" || dc.VerificationURI != ep.URL+"/codex/device" || dc.Interval != 5*time.Second ||
		!dc.ExpiresAt.Equal(testNow.Add(15*time.Minute)) {
		t.Errorf("device code shown = %+v", dc)
	}
	for range 3 {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
	}
	<-done
	if err != nil {
		t.Fatalf("device login: %v", err)
	}
	if n := len(ep.requests("/api/accounts/deviceauth/token")); n != 3 {
		t.Errorf("polled %d times, want 3", n)
	}
	uc := ep.last(t, "/api/accounts/deviceauth/usercode")
	if uc.ContentType != "application/json" || !maps.Equal(keysOf(uc.JSON), set("client_id")) || uc.JSON["client_id"] != codexClientID {
		t.Errorf("usercode request = %s %v", uc.ContentType, uc.JSON)
	}
	poll := ep.last(t, "/api/accounts/deviceauth/token")
	if poll.JSON["device_auth_id"] != "dev-auth-1" || poll.JSON["user_code"] != "ABCD-1234" {
		t.Errorf("poll body = %v", poll.JSON)
	}
	ex := ep.last(t, "/oauth/token")
	if ex.ContentType != "application/x-www-form-urlencoded" || ex.Form.Get("code") != "dev-code-9" ||
		ex.Form.Get("code_verifier") != "server-verifier-0123456789012345678901234567890123" ||
		ex.Form.Get("redirect_uri") != ep.URL+"/deviceauth/callback" || ex.Form.Get("grant_type") != "authorization_code" {
		t.Errorf("device exchange form = %v", ex.Form)
	}
	if creds.AccountID != "acct-synthetic-0001" || creds.RefreshToken == "" {
		t.Errorf("credentials = %v", creds)
	}
}

// TestCodexDevicePollRidesOutFaults: Codex's device poll runs in auth's one
// poll loop, so a 503 and a 429 are ridden out waiting the server's
// Retry-After, and a slow_down lengthens the interval, as for RFC 8628.
func TestCodexDevicePollRidesOutFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := clockwork.NewFakeClockAt(testNow)
	ep := newEndpoint(t)
	ep.on("/api/accounts/deviceauth/usercode", 200, `{"device_auth_id":"dev-auth-1","user_code":"ABCD-1234","interval":"5"}`)
	ep.on("/api/accounts/deviceauth/token", 503, `{}`)
	ep.on("/api/accounts/deviceauth/token", 429, `{"error":"rate_limit_exceeded"}`)
	ep.on("/api/accounts/deviceauth/token", 400, `{"error":"slow_down"}`)
	ep.on("/api/accounts/deviceauth/token", 200, `{"authorization_code":"dev-code-9","code_verifier":"server-verifier-0123456789012345678901234567890123"}`)
	ep.header("/api/accounts/deviceauth/token", "Retry-After", "7")
	ep.answer("/oauth/token", 200, fixture(t, "codex_token_response.json"))
	p := codexProvider(t, clock, ep)

	running, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		defer stop()
		_, err := p.OAuth.DeviceLogin(ctx, nil)
		errc <- err
	}()
	for clock.BlockUntilContext(running, 1) == nil {
		clock.Advance(time.Second)
	}
	if err := <-errc; err != nil {
		t.Fatalf("device login: %v", err)
	}
	// 5s → 503 asks for 7s; 7s → 429 asks for 7s; 7s → slow_down makes
	// the interval 10s; 10s → approved.
	if took := clock.Since(testNow); took != 29*time.Second {
		t.Errorf("login took %v of clock time, want 29s", took)
	}
	if n := len(ep.requests("/api/accounts/deviceauth/token")); n != 4 {
		t.Errorf("polled %d times, want 4", n)
	}
}

func TestCodexDeviceLoginFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		usercode reply
		poll     reply
		advance  bool
		kind     error
	}{
		{"usercode endpoint missing", reply{404, `{}`}, reply{}, false, auth.ErrMisconfigured},
		{"server error", reply{503, `{}`}, reply{}, false, auth.ErrTransient},
		{"never approved", reply{200, `{"device_auth_id":"d","usercode":"U-1","interval":"5"}`}, reply{403, `{}`}, true, auth.ErrLoginRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			clock := clockwork.NewFakeClockAt(testNow)
			ep := newEndpoint(t)
			ep.answer("/api/accounts/deviceauth/usercode", tc.usercode.status, tc.usercode.body)
			if tc.poll.status != 0 {
				ep.answer("/api/accounts/deviceauth/token", tc.poll.status, tc.poll.body)
			}
			p := codexProvider(t, clock, ep)
			errc := make(chan error, 1)
			running, stop := context.WithCancel(ctx)
			go func() {
				defer stop()
				_, err := p.OAuth.DeviceLogin(ctx, nil)
				errc <- err
			}()
			// Let every poll timer fire until the login gives up.
			for tc.advance && clock.BlockUntilContext(running, 1) == nil {
				clock.Advance(5 * time.Second)
			}
			err := <-errc
			if err == nil || !errorsIs(err, tc.kind) {
				t.Errorf("err = %v, want kind %v", err, tc.kind)
			}
		})
	}
}

func TestCodexDecorate(t *testing.T) {
	p := get(t, registry(t, clockwork.NewFakeClockAt(testNow), nil), Codex)
	h := http.Header{"Authorization": {"Bearer sk-placeholder"}, "X-Api-Key": {"k"}, "Cookie": {"a=b"},
		"User-Agent": {"codex_cli_rs/0.50"}, "Originator": {"codex_cli_rs"}, "Chatgpt-Account-Id": {"spoofed"}}
	p.Decorate(h, auth.Credentials{AccessToken: "eyJ.synthetic.token", AccountID: "acct-synthetic-0001"})
	want := http.Header{
		"Authorization":      {"Bearer eyJ.synthetic.token"},
		"Chatgpt-Account-Id": {"acct-synthetic-0001"},
		"User-Agent":         {"codex_cli_rs/0.50"},
		"Originator":         {"codex_cli_rs"},
	}
	if !maps.EqualFunc(h, want, func(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }) {
		t.Errorf("headers = %v, want %v", h, want)
	}
	if u, err := p.BaseURL(auth.Credentials{}); err != nil || u.String() != "https://chatgpt.com/backend-api/codex" {
		t.Errorf("base = %v %v", u, err)
	}
}
