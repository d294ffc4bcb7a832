package fake

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jonboulle/clockwork"
)

var t0 = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)

var noRedirect = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize runs /authorize and returns the redirect's query.
func authorize(t *testing.T, s *OAuthServer, verifier, scope string) url.Values {
	t.Helper()
	q := url.Values{
		"response_type": {"code"}, "client_id": {"cli"}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"state": {"st"}, "code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}, "scope": {scope},
	}
	resp, err := noRedirect.Get(s.AuthURL() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// post sends v to the token endpoint as form or JSON and decodes the answer.
func post(t *testing.T, endpoint string, v url.Values, asJSON bool) (int, map[string]any) {
	t.Helper()
	var req *http.Request
	if asJSON {
		m := map[string]string{}
		for k := range v {
			m[k] = v.Get(k)
		}
		b, _ := json.Marshal(m)
		req, _ = http.NewRequest(http.MethodPost, endpoint, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req, _ = http.NewRequest(http.MethodPost, endpoint, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	return resp.StatusCode, out
}

func TestCodeExchange(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		name := map[bool]string{false: "form", true: "json"}[asJSON]
		t.Run(name, func(t *testing.T) {
			s := NewOAuthServer(WithClientID("cli"))
			defer s.Close()
			q := authorize(t, s, "right-verifier-0123456789012345678901234567", "openid email")
			if q.Get("state") != "st" || q.Get("code") == "" {
				t.Fatalf("redirect query %v", q)
			}
			ex := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "client_id": {"cli"},
				"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {"right-verifier-0123456789012345678901234567"}}
			status, body := post(t, s.TokenURL(), ex, asJSON)
			if status != 200 || body["access_token"] == nil || body["refresh_token"] != s.LastRefreshToken() ||
				body["id_token"] == nil || body["expires_in"] != 3600.0 || body["scope"] != "openid email" {
				t.Fatalf("exchange = %d %v", status, body)
			}
			if !s.ValidAccessToken(body["access_token"].(string)) {
				t.Error("issued access token not valid")
			}
			// A code works once.
			status, body = post(t, s.TokenURL(), ex, asJSON)
			if status != 400 || body["error"] != "invalid_grant" {
				t.Errorf("reused code = %d %v", status, body)
			}
			if c := s.Counts(); c.Exchange != 1 || c.Token != 2 || c.Authorize != 1 {
				t.Errorf("counts %+v", c)
			}
		})
	}
}

func TestCodeExchangeRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(v url.Values)
		status int
		code   string
	}{
		{"wrong verifier", func(v url.Values) { v.Set("code_verifier", "another-verifier-xxxxxxxxxxxxxxxxxxxxxxxxxxx") }, 400, "invalid_grant"},
		{"wrong redirect", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:10/cb") }, 400, "invalid_grant"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "other") }, 401, "invalid_client"},
		{"bad grant type", func(v url.Values) { v.Set("grant_type", "password") }, 400, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewOAuthServer(WithClientID("cli"))
			defer s.Close()
			q := authorize(t, s, "right-verifier-0123456789012345678901234567", "")
			v := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "client_id": {"cli"},
				"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {"right-verifier-0123456789012345678901234567"}}
			tc.change(v)
			status, body := post(t, s.TokenURL(), v, false)
			if status != tc.status || body["error"] != tc.code {
				t.Errorf("= %d %v, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
}

func TestAuthorizeErrorsAndManualApproval(t *testing.T) {
	t.Run("injected error", func(t *testing.T) {
		s := NewOAuthServer(WithAuthorizeError("access_denied", "no"))
		defer s.Close()
		q := authorize(t, s, "v", "")
		if q.Get("error") != "access_denied" || q.Get("error_description") != "no" || q.Get("state") != "st" {
			t.Errorf("redirect %v", q)
		}
	})
	for _, approve := range []bool{true, false} {
		t.Run(map[bool]string{true: "held then approved", false: "held then denied"}[approve], func(t *testing.T) {
			s := NewOAuthServer(WithManualApproval())
			defer s.Close()
			got := make(chan url.Values, 1)
			go func() { got <- authorize(t, s, "v", "") }()
			deadline := time.Now().Add(5 * time.Second)
			for s.PendingAuthorizations() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("authorization never held")
				}
				runtime.Gosched()
			}
			s.ReleaseAuthorize(approve)
			q := <-got
			if approve != (q.Get("code") != "") || !approve && q.Get("error") != "access_denied" {
				t.Errorf("released with approve=%v: %v", approve, q)
			}
		})
	}
}

func TestRefreshRotationIsSingleUse(t *testing.T) {
	s := NewOAuthServer()
	defer s.Close()
	rt := s.IssueRefreshToken("cli", "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, losses := 0, 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := post(t, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"cli"}}, true)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case status == 200 && body["refresh_token"] != rt:
				wins++
			case status == 400 && body["error"] == "invalid_grant":
				losses++
			default:
				t.Errorf("unexpected %d %v", status, body)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || losses != 15 || s.Counts().Refresh != 1 {
		t.Errorf("wins %d losses %d counts %+v", wins, losses, s.Counts())
	}
	next := s.LastRefreshToken()
	s.RevokeRefreshToken(next)
	if status, body := post(t, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}, "client_id": {"cli"}}, false); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("revoked token = %d %v", status, body)
	}
}

func TestRefreshOptions(t *testing.T) {
	s := NewOAuthServer(WithoutRotation(), WithAccessTTL(90*time.Second), WithExpiresInString(),
		WithTokenExtras(map[string]any{"account": map[string]any{"uuid": "u-1"}}))
	defer s.Close()
	rt := s.IssueRefreshToken("cli", "")
	for range 2 {
		status, body := post(t, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"cli"}}, false)
		if status != 200 || body["refresh_token"] != nil || body["expires_in"] != "90" || body["account"] == nil {
			t.Fatalf("refresh without rotation = %d %v", status, body)
		}
	}
}

func TestDeviceFlow(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	s := NewOAuthServer(WithClock(clock), WithManualApproval(), WithDeviceTTL(time.Minute))
	defer s.Close()
	newCode := func() (string, string) {
		status, body := post(t, s.DeviceURL(), url.Values{"client_id": {"cli"}, "scope": {"openid"}}, false)
		if status != 200 || body["interval"] != 1.0 || body["expires_in"] != 60.0 ||
			!strings.Contains(body["verification_uri_complete"].(string), body["user_code"].(string)) {
			t.Fatalf("device auth = %d %v", status, body)
		}
		return body["device_code"].(string), body["user_code"].(string)
	}
	poll := func(dc string) (int, map[string]any) {
		return post(t, s.TokenURL(), url.Values{"grant_type": {deviceGrant}, "device_code": {dc}, "client_id": {"cli"}}, false)
	}
	dc, uc := newCode()
	steps := []struct {
		advance time.Duration
		approve bool
		want    string
	}{
		{time.Second, false, DevicePending},
		{0, false, DeviceSlowDown}, // polled again at once
		{6 * time.Second, false, DevicePending},
		{time.Second, false, DeviceSlowDown}, // the interval is 6s, then 11s
		{11 * time.Second, true, ""},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		if st.approve {
			s.Approve(uc)
		}
		status, body := poll(dc)
		if st.want == "" {
			if status != 200 || body["access_token"] == nil || body["id_token"] == nil {
				t.Fatalf("step %d: approved poll = %d %v", i, status, body)
			}
			continue
		}
		if status != 400 || body["error"] != st.want {
			t.Fatalf("step %d: poll = %d %v, want %s", i, status, body, st.want)
		}
	}

	dc, _ = newCode()
	s.Deny("")
	clock.Advance(time.Second)
	if _, body := poll(dc); body["error"] != DeviceDenied {
		t.Errorf("denied poll = %v", body)
	}
	dc, _ = newCode()
	clock.Advance(time.Minute)
	if _, body := poll(dc); body["error"] != DeviceExpired {
		t.Errorf("expired poll = %v", body)
	}
	if c := s.Counts(); c.DeviceAuth != 3 || c.DevicePoll != 7 {
		t.Errorf("counts %+v", c)
	}
}

func TestFaults(t *testing.T) {
	s := NewOAuthServer()
	defer s.Close()
	s.InjectTokenFault(FaultRateLimited("7"), 1)
	s.InjectTokenFault(FaultHTML(), 1)
	s.InjectTokenFault(FaultServerError(), 1)
	s.InjectTokenFault(FaultGarbage(), 1)
	want := []struct {
		status int
		ct     string
		header string
	}{{429, "application/json", "7"}, {200, "text/html; charset=utf-8", ""}, {500, "text/plain", ""}, {200, "application/json", ""}}
	for i, w := range want {
		resp, err := noRedirect.Post(s.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader("grant_type=refresh_token"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != w.status || resp.Header.Get("Content-Type") != w.ct || resp.Header.Get("Retry-After") != w.header {
			t.Errorf("fault %d: %d %q %q", i, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"))
		}
	}
	// Faults are used up: the next call is a normal OAuth error.
	if status, body := post(t, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, false); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("after faults: %d %v", status, body)
	}
}

func TestOIDCDiscoveryAndIDToken(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Now().Truncate(time.Second))
	s := NewOAuthServer(WithClock(clock), WithClientID("cli"), WithIdentity("sub-9", "ada@example.com"),
		WithIDTokenClaims(map[string]any{"https://api.openai.com/auth": map[string]any{"chatgpt_account_id": "acct-9"}}))
	defer s.Close()
	ctx := oidc.ClientContext(context.Background(), &http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
	provider, err := oidc.NewProvider(ctx, s.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	if provider.Endpoint().TokenURL != s.TokenURL() || provider.Endpoint().DeviceAuthURL != s.DeviceURL() {
		t.Errorf("discovery endpoints %+v", provider.Endpoint())
	}
	q := authorize(t, s, "right-verifier-0123456789012345678901234567", "openid email")
	_, body := post(t, s.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "client_id": {"cli"},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {"right-verifier-0123456789012345678901234567"}}, false)
	raw, _ := body["id_token"].(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "cli", Now: clock.Now}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id_token does not verify against the JWKS: %v", err)
	}
	var claims struct {
		Email string         `json:"email"`
		Auth  map[string]any `json:"https://api.openai.com/auth"`
	}
	if err := idt.Claims(&claims); err != nil || idt.Subject != "sub-9" || claims.Email != "ada@example.com" || claims.Auth["chatgpt_account_id"] != "acct-9" {
		t.Errorf("claims sub=%q %+v %v", idt.Subject, claims, err)
	}
	if c := s.Counts(); c.Discovery != 1 || c.JWKS < 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestRefreshTTL(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	s := NewOAuthServer(WithClock(clock), WithRefreshTTL(time.Hour), WithoutRotation())
	defer s.Close()
	rt := s.IssueRefreshToken("cli", "")
	refresh := func() (int, map[string]any) {
		return post(t, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"cli"}}, false)
	}
	clock.Advance(time.Hour - time.Second)
	if status, body := refresh(); status != 200 {
		t.Fatalf("refresh before expiry = %d %v", status, body)
	}
	clock.Advance(time.Second)
	if status, body := refresh(); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh at expiry = %d %v, want invalid_grant", status, body)
	}
}

func TestReuseRevokesTheGrant(t *testing.T) {
	s := NewOAuthServer()
	defer s.Close()
	first := s.IssueRefreshToken("cli", "")
	refresh := func(rt string) (int, map[string]any) {
		return post(t, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"cli"}}, false)
	}
	status, body := refresh(first)
	if status != 200 {
		t.Fatalf("first refresh = %d %v", status, body)
	}
	second, _ := body["refresh_token"].(string)
	access, _ := body["access_token"].(string)
	if !s.ValidAccessToken(access) || s.Revoked(second) {
		t.Fatal("a fresh grant is not live")
	}
	// Spending the rotated-away token again is reuse: the grant dies,
	// including the newest refresh token and the access token it came with.
	if status, body := refresh(first); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("reuse = %d %v, want invalid_grant", status, body)
	}
	if status, _ := refresh(second); status != 400 {
		t.Errorf("newest refresh token still works after reuse: %d", status)
	}
	if s.ValidAccessToken(access) || !s.Revoked(second) {
		t.Error("reuse left the grant's tokens live")
	}
	if c := s.Counts(); c.Reuse != 1 || c.Refresh != 1 {
		t.Errorf("counts %+v, want 1 reuse and 1 refresh", c)
	}
}

func TestStallResetAndUnavailable(t *testing.T) {
	s := NewOAuthServer()
	defer s.Close()
	rt := s.IssueRefreshToken("cli", "")
	form := "grant_type=refresh_token&client_id=cli&refresh_token=" + rt

	s.InjectTokenFault(FaultUnavailable(), 1)
	resp, err := noRedirect.Post(s.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("unavailable fault = %d, want 503", resp.StatusCode)
	}

	s.InjectTokenFault(FaultReset(), 1)
	if resp, err := noRedirect.Post(s.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form)); err == nil {
		resp.Body.Close()
		t.Errorf("reset fault answered %d, want a connection error", resp.StatusCode)
	}

	// A stalled call answers normally once released, and rotates then.
	s.InjectTokenFault(FaultStall(), 1)
	seen := s.StallSeen()
	done := make(chan int, 1)
	go func() {
		resp, err := noRedirect.Post(s.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-seen
	if s.Stalled() != 1 || s.Counts().Refresh != 0 {
		t.Fatalf("stalled = %d, refreshes = %d; want the call held before rotating", s.Stalled(), s.Counts().Refresh)
	}
	s.ReleaseStalls()
	if status := <-done; status != 200 {
		t.Errorf("released stall = %d, want 200", status)
	}
	if c := s.Counts(); c.Refresh != 1 || c.Reuse != 0 {
		t.Errorf("counts %+v", c)
	}

	// A client that gives up on a stall leaves the grant as it was.
	s.InjectTokenFault(FaultStall(), 1)
	seen = s.StallSeen()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-seen; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenURL(), strings.NewReader("grant_type=refresh_token&client_id=cli&refresh_token="+s.LastRefreshToken()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := noRedirect.Do(req); err == nil {
		resp.Body.Close()
		t.Error("a cancelled stalled call got an answer")
	}
	if status, _ := post(t, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.LastRefreshToken()}, "client_id": {"cli"}}, false); status != 200 {
		t.Errorf("after an abandoned stall the newest token = %d, want 200", status)
	}
}
