package auth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
)

// FuzzCallbackQuery feeds arbitrary callback queries to the parser and to
// the callback server: nothing may panic, an accepted code is plausible,
// and no request without the login's state ever decides the login.
func FuzzCallbackQuery(f *testing.F) {
	for _, s := range []string{
		"code=abc&state=xyz", "error=access_denied&state=xyz", "error=%1b%5b2J&error_description=%1b]52;c;eA==%07",
		"code=a&code=b&state=s", "iss=https%3A%2F%2Fevil.example&code=a&state=s", "state=", "code=%20", "%zz", "",
		"code=a&state=s&iss=a&iss=b", "code=\x00&state=\x1b",
	} {
		f.Add(s)
	}
	const state = "the-login-state-0123456789abcdefghijklmnopq"
	f.Fuzz(func(t *testing.T, raw string) {
		if q, err := url.ParseQuery(raw); err == nil {
			p, err := parseCallbackQuery(q)
			if err == nil {
				if p.Error == "" && (p.Code == "" || !plausibleCode(p.Code)) {
					t.Fatalf("accepted %q with an unusable code %q", raw, p.Code)
				}
				if len(q["state"]) > 1 || len(q["iss"]) > 1 || len(q["code"]) > 1 {
					t.Fatalf("accepted repeated parameters in %q", raw)
				}
			}
		}
		if strings.Contains(raw, state) {
			return
		}
		cfg := &Config{Provider: "demo", Issuer: "https://issuer.example", IssuerInResponse: true}
		cb := &callbackServer{cfg: cfg, path: "/callback", state: state, clock: clockwork.NewFakeClock(),
			done: make(chan struct{}), results: make(chan callbackResult, 1)}
		close(cb.done) // a delivery, were there one, would not wait for an outcome
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/callback", RawQuery: raw}, Header: http.Header{}}
		rec := httptest.NewRecorder()
		cb.ServeHTTP(rec, req)
		if len(cb.results) != 0 {
			t.Fatalf("the query %q, without the state, decided the login", raw)
		}
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("the query %q got %d, want 400", raw, rec.Code)
		}
		if strings.ContainsAny(rec.Body.String(), "\x1b\x07") {
			t.Fatalf("the page echoes control characters for %q", raw)
		}
	})
}
