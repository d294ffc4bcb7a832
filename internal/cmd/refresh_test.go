package cmd

import (
	"context"
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
