package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// oidcApp is an App whose provider "corp" is the fake server, with rt
// stored as corp's refresh token.
func oidcApp(t *testing.T, srv *fake.OAuthServer, pc config.Provider) (*App, store.Store, string) {
	t.Helper()
	cfg := config.Default()
	pc.Type, pc.ClientID = "oidc", "ccproxy"
	if pc.Issuer == "" && pc.TokenURL == "" {
		pc.Issuer = srv.Issuer()
	}
	cfg.Providers["corp"] = pc
	st := store.NewMemory()
	a, err := New(Options{Config: cfg, Store: st, Clock: nil,
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	rt := srv.IssueRefreshToken("ccproxy", "openid offline_access")
	c := auth.Credentials{Version: 1, Provider: "corp", AccessToken: "corp-access-123456", RefreshToken: rt,
		ExpiresAt: time.Now().Add(time.Hour)}
	if _, err := a.Adopt(context.Background(), "", c); err != nil {
		t.Fatal(err)
	}
	return a, st, rt
}

// refreshAtServer spends rt at the token endpoint directly, as anyone
// holding a copy of it could.
func refreshAtServer(t *testing.T, srv *fake.OAuthServer, rt string) int {
	t.Helper()
	resp, err := http.PostForm(srv.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"ccproxy"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestLogoutRevokesTheRefreshTokenAtTheServer(t *testing.T) {
	srv := fake.NewOAuthServer(fake.WithClientID("ccproxy"))
	defer srv.Close()
	a, st, rt := oidcApp(t, srv, config.Provider{})
	rev, err := a.Logout(context.Background(), "corp")
	if err != nil {
		t.Fatal(err)
	}
	if !rev.Revoked || rev.Endpoint != srv.RevocationURL() || !strings.Contains(rev.String(), "revoked") {
		t.Fatalf("revocation = %+v (%s)", rev, rev)
	}
	if _, err := st.Load(context.Background(), "corp"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("local credentials still stored: %v", err)
	}
	if code := refreshAtServer(t, srv, rt); code != http.StatusBadRequest {
		t.Errorf("refresh with the old refresh token after logout = %d, want 400", code)
	}
	if n := srv.Counts().Revoke; n != 1 {
		t.Errorf("revocation calls = %d", n)
	}
}

func TestLogoutDeletesLocallyWhateverTheServerAnswers(t *testing.T) {
	srv := fake.NewOAuthServer(fake.WithClientID("ccproxy"))
	defer srv.Close()
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		mention string
	}{
		{"503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }, "HTTP 503"},
		{"unsupported token type", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"unsupported_token_type"}`))
		}, "unsupported_token_type"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://collector.example/revoke", http.StatusTemporaryRedirect)
		}, "providers.corp.revocation_url"},
		{"reset", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}, "revoke corp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := httptest.NewServer(tc.handler)
			defer bad.Close()
			a, st, rt := oidcApp(t, srv, config.Provider{Issuer: srv.Issuer(), RevocationURL: bad.URL})
			rev, err := a.Logout(context.Background(), "corp")
			if err != nil {
				t.Fatal(err)
			}
			if rev.Revoked || rev.Err == nil || !strings.Contains(rev.String(), tc.mention) || !strings.Contains(rev.String(), "stays valid") {
				t.Errorf("revocation = %s", rev)
			}
			if strings.Contains(rev.String(), rt) {
				t.Errorf("the message shows the refresh token")
			}
			if _, err := st.Load(context.Background(), "corp"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("local credentials kept after a failed revocation: %v", err)
			}
		})
	}
	t.Run("no endpoint", func(t *testing.T) {
		a, st, _ := oidcApp(t, srv, config.Provider{AuthorizeURL: srv.AuthURL(), TokenURL: srv.TokenURL()})
		rev, err := a.Logout(context.Background(), "corp")
		if err != nil || rev.Revoked || rev.Err != nil || !strings.Contains(rev.String(), "no revocation endpoint") {
			t.Errorf("revocation = %s, %v", rev, err)
		}
		if _, err := st.Load(context.Background(), "corp"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("local credentials kept: %v", err)
		}
	})
}
