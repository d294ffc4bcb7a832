package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// TestTokenAndRefreshRenewThroughTheFake seeds an expired credential whose
// refresh token the fake accepts: auth token must print a fresh access
// token, and auth refresh must rotate again.
func TestTokenAndRefreshRenewThroughTheFake(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	rt := h.srv.IssueRefreshToken("ccproxy", "openid offline_access")
	old := auth.Credentials{Version: 1, Provider: "corp", AccessToken: "expired-access-token-0123456789abcdef",
		RefreshToken: rt, ExpiresAt: time.Now().Add(-time.Minute), Email: "ada@example.com"}
	h.secret(old.AccessToken, rt)
	st, _ := store.NewFile(h.credsDir)
	blob, _ := old.Marshal()
	if err := st.Save(context.Background(), "corp", blob); err != nil {
		t.Fatal(err)
	}

	if code := h.run(ctx, "auth", "token", "corp"); code != 0 {
		t.Fatalf("token exit %d: %s", code, h.errOut)
	}
	fresh := h.stored("corp")
	if fresh.AccessToken == old.AccessToken || !h.srv.ValidAccessToken(fresh.AccessToken) {
		t.Fatal("auth token did not refresh the expired token")
	}
	if h.out.String() != fresh.AccessToken+"\n" {
		t.Error("stdout is not exactly the fresh token")
	}
	h.out.buf.Reset()

	if code := h.run(ctx, "auth", "refresh", "corp"); code != 0 {
		t.Fatalf("refresh exit %d: %s", code, h.errOut)
	}
	again := h.stored("corp")
	if again.AccessToken == fresh.AccessToken || again.RefreshToken == fresh.RefreshToken {
		t.Error("auth refresh did not renew and rotate")
	}
	if !strings.Contains(h.errOut.String(), "✓ Refreshed corp (expires in ") {
		t.Errorf("stderr:\n%s", h.errOut)
	}
	if h.out.String() != "" {
		t.Errorf("refresh wrote to stdout")
	}
	h.assertNoSecrets()
}

// noRoomStore fails every save and cannot reserve: a backend (like the
// keyring) that finds out only when it writes.
type noRoomStore struct{ store.Store }

func (noRoomStore) Save(context.Context, string, []byte) error {
	return errors.New("write: no space left on device")
}

// TestRefreshThatCannotSaveExitsOne: `auth refresh` whose new tokens could
// not be written says so plainly and exits 1; on a full disk it does not
// rotate at all and says the current token stays in use.
func TestRefreshThatCannotSaveExitsOne(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wrap    func(store.Store) store.Store
		rotated bool
		say     []string
	}{
		{"full disk", func(s store.Store) store.Store { f := store.NewFaulty(s); f.SetFull(true); return f }, false,
			[]string{"cannot take new tokens", "current ones stay in use"}},
		{"save fails after rotating", func(s store.Store) store.Store { return noRoomStore{s} }, true,
			[]string{"could not be written", "old refresh token is spent", "auth login corp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			rt := h.srv.IssueRefreshToken("ccproxy", "openid offline_access")
			old := auth.Credentials{Version: 1, Provider: "corp", AccessToken: "valid-access-token-0123456789abcdef",
				RefreshToken: rt, ExpiresAt: time.Now().Add(time.Hour), Email: "ada@example.com"}
			h.secret(old.AccessToken, rt)
			st, _ := store.NewFile(h.credsDir)
			blob, _ := old.Marshal()
			if err := st.Save(context.Background(), "corp", blob); err != nil {
				t.Fatal(err)
			}
			f := h.factory()
			f.Store = tc.wrap(st)
			code := Execute(NewCmdRoot(f, nil), []string{"auth", "refresh", "corp"}, h.errOut, f.Logger)
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, h.errOut)
			}
			if strings.Contains(h.errOut.String(), "✓") {
				t.Errorf("claims success:\n%s", h.errOut)
			}
			for _, want := range tc.say {
				if !strings.Contains(h.errOut.String(), want) {
					t.Errorf("stderr does not say %q:\n%s", want, h.errOut)
				}
			}
			if got := h.srv.Counts().Refresh; (got == 1) != tc.rotated {
				t.Errorf("%d rotations, want rotated=%v", got, tc.rotated)
			}
			h.assertNoSecrets()
		})
	}
}
