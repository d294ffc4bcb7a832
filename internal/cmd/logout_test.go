package cmd

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

func TestLogoutRevokesThenRefreshWithTheOldTokenFails(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	rt := h.srv.IssueRefreshToken("ccproxy", "openid offline_access")
	h.secret(rt)
	saveCreds(t, h, "corp", auth.Credentials{AccessToken: "at-corp-123456", RefreshToken: rt, ExpiresAt: time.Now().Add(time.Hour)})
	if code := h.run(ctx, "auth", "logout", "corp", "--yes"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, h.errOut)
	}
	if msg := h.errOut.String(); !strings.Contains(msg, "Logged out of corp account default: the refresh token was revoked at 127.0.0.1") ||
		!strings.Contains(msg, "local credentials were deleted") {
		t.Errorf("stderr does not say what happened:\n%s", msg)
	}
	resp, err := http.PostForm(h.srv.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"ccproxy"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the old refresh token still works at the server after logout (%d)", resp.StatusCode)
	}
	if code := h.run(ctx, "auth", "refresh", "corp"); code != 1 {
		t.Errorf("auth refresh after logout: exit %d", code)
	}
	h.assertNoSecrets()

	t.Run("a provider without an endpoint says so", func(t *testing.T) {
		saveCreds(t, h, "claude", auth.Credentials{AccessToken: "sk-ant-oat01-x-123456", RefreshToken: "sk-ant-ort01-y-123456"})
		before := h.errOut.String()
		if code := h.run(ctx, "auth", "logout", "claude", "--yes"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, h.errOut)
		}
		if msg := strings.TrimPrefix(h.errOut.String(), before); !strings.Contains(msg, "no revocation endpoint") ||
			!strings.Contains(msg, "stays valid") {
			t.Errorf("stderr:\n%s", msg)
		}
	})
}
