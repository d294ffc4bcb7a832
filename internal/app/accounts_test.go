package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/accounts"
	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

func corpLogin(email, token string) auth.Credentials {
	return auth.Credentials{Version: 1, Provider: "corp", AccessToken: token, RefreshToken: "refresh-" + token,
		ExpiresAt: now.Add(time.Hour), ObtainedAt: now, Email: email}
}

// send posts one request through the proxy and returns the status, the
// body and the token the upstream received.
func send(t *testing.T, a *App, up *fake.Upstream, path string) (int, string, string) {
	t.Helper()
	before := len(up.Requests())
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8787"+path, strings.NewReader(`{"model":"m"}`))
	rec := httptest.NewRecorder()
	a.Proxy().Handler().ServeHTTP(rec, req)
	seen := up.Requests()
	token := ""
	if len(seen) > before {
		token = strings.TrimPrefix(seen[len(seen)-1].Header.Get("Authorization"), "Bearer ")
	}
	return rec.Code, rec.Body.String(), token
}

// TestAccountsRouteByNameAndBySwitching: two logins of one provider are two
// accounts; /corp/ follows the active one (the last logged in, then the
// one switched to) and /corp@<name>/ pins one.
func TestAccountsRouteByNameAndBySwitching(t *testing.T) {
	up := fake.NewUpstream(fake.UpstreamOptions{Record: true})
	srv := httptest.NewServer(up)
	defer srv.Close()
	a, _ := newApp(t, srv.URL)
	ctx := context.Background()
	events, cancel := a.Proxy().Subscribe(16)
	defer cancel()

	home := corpLogin("Ada@Example.com", "home-access-token-0123456789")
	work := corpLogin("ada@corp.example", "work-access-token-0123456789")
	if name, err := a.Adopt(ctx, "", home); err != nil || name != "ada@example.com" {
		t.Fatalf("first login = %q, %v; want it named after its e-mail", name, err)
	}
	if name, err := a.Adopt(ctx, "work", work); err != nil || name != "work" {
		t.Fatalf("second login = %q, %v", name, err)
	}
	names, active, err := a.Accounts(ctx, "corp")
	if err != nil || !slices.Equal(names, []string{"ada@example.com", "work"}) || active != "work" {
		t.Fatalf("accounts %q, active %q, %v; want the last login active", names, active, err)
	}

	tests := []struct {
		path, token, account string
	}{
		{"/corp/v1/chat/completions", work.AccessToken, "work"},
		{"/corp@ada@example.com/v1/chat/completions", home.AccessToken, "ada@example.com"},
		{"/corp%40work/v1/chat/completions", work.AccessToken, "work"},
	}
	for _, tc := range tests {
		code, body, token := send(t, a, up, tc.path)
		if code != http.StatusOK || token != tc.token {
			t.Fatalf("%s: %d %s, upstream got %q; want %q", tc.path, code, body, auth.MaskAccess(token), auth.MaskAccess(tc.token))
		}
		if e := <-events; e.Provider != "corp" || e.Account != tc.account {
			t.Errorf("%s: event names %s@%s, want corp@%s", tc.path, e.Provider, e.Account, tc.account)
		}
	}
	if got := up.Requests()[0].Path; got != "/v1/chat/completions" {
		t.Errorf("upstream path %q: the account is not part of the API path", got)
	}

	if err := a.Switch(ctx, "corp", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, token := send(t, a, up, "/corp/v1/chat/completions"); token != home.AccessToken {
		t.Errorf("after the switch /corp/ used %q, want the home account", auth.MaskAccess(token))
	}
	<-events

	code, body, token := send(t, a, up, "/corp@nobody/v1/chat/completions")
	if code != http.StatusNotFound || token != "" {
		t.Fatalf("unknown account: %d, upstream token %q", code, token)
	}
	var shape struct {
		Error struct{ Message, Type, Code string }
	}
	if err := json.Unmarshal([]byte(body), &shape); err != nil || shape.Error.Code != "unknown_account" ||
		!strings.Contains(shape.Error.Message, "ada@example.com, work") {
		t.Errorf("unknown account answer %s: want the OpenAI error shape listing the accounts", body)
	}

	for _, bad := range []string{"/corp@Work/v1/chat/completions", "/corp@/v1/chat/completions", "/corp@..%2f/v1/chat/completions"} {
		if code, body, token := send(t, a, up, bad); code != http.StatusNotFound || token != "" || !strings.Contains(body, "unknown_account") {
			t.Errorf("%s: %d %s (upstream token %q), want a 404 unknown_account", bad, code, body, token)
		}
	}

	list := a.Statuses(ctx)
	var corp []string
	for _, st := range list {
		if st.Provider == "corp" {
			mark := ""
			if st.Active {
				mark = "*"
			}
			corp = append(corp, mark+st.Account)
		}
	}
	if !slices.Equal(corp, []string{"*ada@example.com", "work"}) {
		t.Errorf("status lists %q, want both accounts, the active one marked", corp)
	}

	// Logging out of the active account makes the other one active.
	if _, err := a.Logout(ctx, "corp"); err != nil {
		t.Fatal(err)
	}
	if names, active, _ := a.Accounts(ctx, "corp"); !slices.Equal(names, []string{"work"}) || active != "work" {
		t.Errorf("after the logout: accounts %q, active %q", names, active)
	}
	if _, err := a.Token(ctx, "corp@ada@example.com"); !errors.As(err, new(*accounts.UnknownError)) {
		t.Errorf("token of a logged-out account: %v", err)
	}
	if _, err := a.LogoutAll(ctx, "corp"); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := send(t, a, up, "/corp/v1/chat/completions"); code != http.StatusUnauthorized || !strings.Contains(body, "auth login corp") {
		t.Errorf("after logging out of every account: %d %s", code, body)
	}
}

// TestAnotherProcessesSwitchIsFollowed: a switch and a login written by
// another process reach this one through the store's watch.
func TestAnotherProcessesSwitchIsFollowed(t *testing.T) {
	up := fake.NewUpstream(fake.UpstreamOptions{Record: true})
	srv := httptest.NewServer(up)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mem := store.NewMemory()
	cfg := config.Default()
	cfg.Providers["corp"] = config.Provider{Type: "oidc", Issuer: "http://127.0.0.1:9/", ClientID: "ccproxy", APIBase: srv.URL}
	clock := clockwork.NewFakeClockAt(now)
	serve, err := New(Options{Config: cfg, Store: mem, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(Options{Config: cfg, Store: mem, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	events, unsubscribe := serve.AuthEvents(16)
	defer unsubscribe()
	watching := make(chan struct{})
	mem.OnWatch(func() { close(watching) })
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); serve.Run(runCtx) }()
	defer func() { stop(); <-done }()
	<-watching

	home := corpLogin("ada@example.com", "home-access-token-0123456789")
	work := corpLogin("ada@corp.example", "work-access-token-0123456789")
	if _, err := other.Adopt(ctx, "", home); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Adopt(ctx, "work", work); err != nil {
		t.Fatal(err)
	}
	// Both logins are announced, and the second one's becoming active.
	for logins, switched := 0, false; logins < 2 || !switched; {
		select {
		case e := <-events:
			if e.Kind == auth.LoginSucceeded {
				logins++
			}
			switched = switched || (e.Kind == auth.Switched && e.Account == "work")
		case <-ctx.Done():
			t.Fatal("serve never saw the logins made elsewhere")
		}
	}
	if code, body, token := send(t, serve, up, "/corp/v1/chat/completions"); token != work.AccessToken {
		t.Fatalf("serve used %q (%d %s), want the account logged in last", auth.MaskAccess(token), code, body)
	}
	if err := other.Switch(ctx, "corp", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	for switched := false; !switched; {
		select {
		case e := <-events:
			switched = e.Kind == auth.Switched && e.Account == "ada@example.com"
		case <-ctx.Done():
			t.Fatal("serve never followed the switch")
		}
	}
	if _, _, token := send(t, serve, up, "/corp/v1/chat/completions"); token != home.AccessToken {
		t.Errorf("after the switch elsewhere serve used %q", auth.MaskAccess(token))
	}
}

// TestNewMovesTheReleasedCredentials: a store the released build wrote
// serves at once, without a login, as each provider's active account.
func TestNewMovesTheReleasedCredentials(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "credentials")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("..", "..", "testdata", "released-v1", "credentials")
	for _, p := range []string{"claude", "codex"} {
		b, err := os.ReadFile(filepath.Join(src, p+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p+".json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Config: config.Default(), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range []string{"claude", "codex"} {
		s, err := a.Status(ctx, p)
		if err != nil || s.Account != "ada@example.com" || !s.Active || s.RefreshTokenPreview == "" {
			t.Errorf("%s: status %+v, %v; want the released login as the active account", p, s, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "claude.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the released file is still there after the move: %v", err)
	}
}

func TestAccountAdviceNamesTheAccount(t *testing.T) {
	st := accountAdvice(auth.Status{Provider: "corp", Account: "work",
		Reason:    "refresh refused — log in again; run: ccproxy-tui auth login corp",
		LastError: "refresh corp: invalid_grant; run: ccproxy-tui auth login corp --device"})
	if st.Reason != "refresh refused — log in again; run: ccproxy-tui auth login corp --account work" {
		t.Errorf("reason %q", st.Reason)
	}
	if st.LastError != "refresh corp: invalid_grant; run: ccproxy-tui auth login corp --account work --device" {
		t.Errorf("last error %q", st.LastError)
	}
	if got := accountAdvice(auth.Status{Provider: "corp", Reason: "run: ccproxy-tui auth login corp"}); got.Reason != "run: ccproxy-tui auth login corp" {
		t.Errorf("a provider without accounts changed: %q", got.Reason)
	}
	if got := accountAdvice(auth.Status{Provider: "corp", Account: "w", Reason: "run: ccproxy-tui auth login corpus"}); got.Reason != "run: ccproxy-tui auth login corpus" {
		t.Errorf("another provider's advice changed: %q", got.Reason)
	}
}
