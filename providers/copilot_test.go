package providers

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// copilotProvider points copilot's GitHub and Copilot endpoints at ep.
func copilotProvider(t *testing.T, clock clockwork.Clock, ep *endpoint, ov Spec) *Provider {
	ov.DeviceURL = ep.URL + "/login/device/code"
	ov.TokenURL = ep.URL + "/login/oauth/access_token"
	ov.CopilotTokenURL = ep.URL + "/copilot_internal/v2/token"
	return get(t, registry(t, clock, map[string]Spec{Copilot: ov}), Copilot)
}

// TestCopilotTokenCycle follows a Copilot login from the GitHub device flow
// to the Copilot token, then the re-fetch the lifecycle runs as a refresh.
func TestCopilotTokenCycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := clockwork.NewFakeClockAt(testNow)
	ep := newEndpoint(t)
	ep.answer("/login/device/code", 200, `{"device_code":"dc-synthetic","user_code":"WDJB-MJHT","verification_uri":"https://github.com/login/device","expires_in":900,"interval":5}`)
	ep.on("/login/oauth/access_token", 200, `{"error":"authorization_pending"}`)
	ep.on("/login/oauth/access_token", 200, `{"access_token":"ghu_SYNTHETICgithubToken0000000000000001","token_type":"bearer","scope":"read:user"}`)
	ep.on("/copilot_internal/v2/token", 200, fixture(t, "copilot_token_response.json"))
	ep.on("/copilot_internal/v2/token", 200, `{"token":"tid=SYNTHETIC-second","expires_at":1795402000,"refresh_in":1500}`)
	ep.on("/copilot_internal/v2/token", 401, `{"message":"Bad credentials"}`)
	ep.answer("/user", 200, `{"login":"octo-synthetic","id":1}`)
	p := copilotProvider(t, clock, ep, Spec{})

	done := make(chan struct{})
	var creds auth.Credentials
	var err error
	go func() {
		defer close(done)
		creds, err = p.OAuth.DeviceLogin(ctx, func(d auth.DeviceCode) {
			if d.UserCode != "WDJB-MJHT" {
				t.Errorf("user code %q", d.UserCode)
			}
		})
	}()
	for range 2 {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
	}
	<-done
	if err != nil {
		t.Fatalf("device login: %v", err)
	}
	loginAt := testNow.Add(10 * time.Second)

	t.Run("GitHub device flow asks for JSON", func(t *testing.T) {
		dc := ep.last(t, "/login/device/code")
		if dc.Header.Get("Accept") != "application/json" || dc.Form.Get("client_id") != "Iv1.b507a08c87ecfe98" || dc.Form.Get("scope") != "read:user" {
			t.Errorf("device code request: accept=%q form=%v", dc.Header.Get("Accept"), formKeys(dc.Form))
		}
		poll := ep.last(t, "/login/oauth/access_token")
		if poll.Header.Get("Accept") != "application/json" || poll.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" ||
			poll.Form.Get("device_code") != "dc-synthetic" || poll.Form.Has("client_secret") {
			t.Errorf("poll: accept=%q form=%v", poll.Header.Get("Accept"), formKeys(poll.Form))
		}
	})
	t.Run("GitHub token buys a Copilot token", func(t *testing.T) {
		fetch := ep.last(t, "/copilot_internal/v2/token")
		if fetch.Method != http.MethodGet || fetch.Header.Get("Authorization") != "token ghu_SYNTHETICgithubToken0000000000000001" {
			t.Errorf("fetch %s with auth %q", fetch.Method, auth.MaskAccess(fetch.Header.Get("Authorization")))
		}
		if fetch.Header.Get("Editor-Version") == "" || fetch.Header.Get("X-Github-Api-Version") != "2025-04-01" {
			t.Errorf("fetch headers = %v", fetch.Header)
		}
		if creds.RefreshToken != "ghu_SYNTHETICgithubToken0000000000000001" || !strings.HasPrefix(creds.AccessToken, "tid=SYNTHETIC;") {
			t.Errorf("tokens: access %s refresh %s", auth.MaskAccess(creds.AccessToken), auth.MaskRefresh(creds.RefreshToken))
		}
		// Due at refresh_in - 60 s, before the real expiry.
		if want := loginAt.Add(1500*time.Second - time.Minute); !creds.ExpiresAt.Equal(want) {
			t.Errorf("expires at %v, want %v", creds.ExpiresAt, want)
		}
		if creds.AccountID != "octo-synthetic" || ep.last(t, "/user").Header.Get("Authorization") != "token ghu_SYNTHETICgithubToken0000000000000001" {
			t.Errorf("account = %q", creds.AccountID)
		}
		if creds.Extra["copilot_expires_at"] != "2026-11-23T02:13:20Z" {
			t.Errorf("real expiry = %q", creds.Extra["copilot_expires_at"])
		}
		u, err := p.BaseURL(creds)
		if err != nil || u.String() != "https://api.individual.githubcopilot.com" {
			t.Errorf("base from endpoints.api = %v %v", u, err)
		}
	})

	clock.Advance(24 * time.Minute)
	next, err := p.OAuth.Refresh(ctx, creds)
	if err != nil {
		t.Fatalf("re-fetch: %v", err)
	}
	t.Run("refresh re-fetches with the same GitHub token", func(t *testing.T) {
		if n := len(ep.requests("/copilot_internal/v2/token")); n != 2 {
			t.Errorf("%d fetches, want 2", n)
		}
		if next.AccessToken != "tid=SYNTHETIC-second" || next.RefreshToken != creds.RefreshToken || next.AccountID != "octo-synthetic" {
			t.Errorf("after re-fetch: access %s refresh %s", auth.MaskAccess(next.AccessToken), auth.MaskRefresh(next.RefreshToken))
		}
		if want := clock.Now().Add(1440 * time.Second); !next.ExpiresAt.Equal(want) {
			t.Errorf("expires %v, want %v", next.ExpiresAt, want)
		}
		// No endpoints.api this time: back to the default host.
		if u, _ := p.BaseURL(next); u.String() != "https://api.githubcopilot.com" {
			t.Errorf("base = %v", u)
		}
		if !next.LastRefresh.Equal(clock.Now()) {
			t.Errorf("last refresh %v", next.LastRefresh)
		}
	})
	t.Run("a revoked GitHub token needs a login", func(t *testing.T) {
		_, err := p.OAuth.Refresh(ctx, next)
		if !errorsIs(err, auth.ErrLoginRequired) {
			t.Errorf("err = %v", err)
		}
		if strings.Contains(err.Error(), "ghu_SYNTHETIC") {
			t.Errorf("error leaks the GitHub token: %v", err)
		}
	})
}

func TestCopilotDecorate(t *testing.T) {
	creds := auth.Credentials{AccessToken: "tid=copilot", RefreshToken: "ghu_secret"}
	for _, tc := range []struct {
		name    string
		headers map[string]string // config headers
		in      http.Header
		want    http.Header
	}{
		{
			name: "defaults fill in, client credentials go",
			in:   http.Header{"Authorization": {"Bearer sk-dummy"}, "X-Api-Key": {"x"}, "User-Agent": {"my-client/1.0"}},
			want: http.Header{
				"Authorization":          {"Bearer tid=copilot"},
				"Copilot-Integration-Id": {"vscode-chat"},
				"Editor-Version":         {"vscode/1.104.3"},
				"Editor-Plugin-Version":  {"copilot-chat/0.26.7"},
				"X-Github-Api-Version":   {"2025-04-01"},
				"User-Agent":             {"my-client/1.0"},
			},
		},
		{
			name: "client's own editor headers win",
			in:   http.Header{"Editor-Version": {"Neovim/0.11"}, "Copilot-Integration-Id": {"copilot-developer-cli"}},
			want: http.Header{
				"Authorization":          {"Bearer tid=copilot"},
				"Copilot-Integration-Id": {"copilot-developer-cli"},
				"Editor-Version":         {"Neovim/0.11"},
				"Editor-Plugin-Version":  {"copilot-chat/0.26.7"},
				"X-Github-Api-Version":   {"2025-04-01"},
			},
		},
		{
			name:    "config headers replace defaults but never the token",
			headers: map[string]string{"Copilot-Integration-Id": "ccproxy", "authorization": "Bearer nope", "X-Extra": "1"},
			in:      http.Header{},
			want: http.Header{
				"Authorization":          {"Bearer tid=copilot"},
				"Copilot-Integration-Id": {"ccproxy"},
				"Editor-Version":         {"vscode/1.104.3"},
				"Editor-Plugin-Version":  {"copilot-chat/0.26.7"},
				"X-Github-Api-Version":   {"2025-04-01"},
				"X-Extra":                {"1"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := get(t, registry(t, clockwork.NewFakeClockAt(testNow), map[string]Spec{Copilot: {Headers: tc.headers}}), Copilot)
			h := tc.in.Clone()
			p.Decorate(h, creds)
			if !maps.EqualFunc(h, tc.want, func(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }) {
				t.Errorf("headers = %v\nwant %v", h, tc.want)
			}
		})
	}
	p := get(t, registry(t, clockwork.NewFakeClockAt(testNow), map[string]Spec{Copilot: {APIBase: "https://api.business.githubcopilot.com"}}), Copilot)
	if u, _ := p.BaseURL(auth.Credentials{Extra: map[string]string{"copilot_api": "https://api.individual.githubcopilot.com"}}); u.String() != "https://api.business.githubcopilot.com" {
		t.Errorf("config api_base must win over the token's, got %v", u)
	}
}
