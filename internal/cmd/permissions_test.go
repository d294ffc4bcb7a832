package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

func TestLooseCredentialsAreFixedAndReportedOnce(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)
	saveCreds(t, h, "corp", auth.Credentials{AccessToken: "at-corp-123456", RefreshToken: "rt-corp-123456", ExpiresAt: time.Now().Add(time.Hour)})
	file := filepath.Join(h.credsDir, "corp@default.json")
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(h.credsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.run(ctx, "auth", "status")
	first := h.errOut.String()
	for _, want := range []string{file + " was mode 0644", h.credsDir + " was mode 0755", "tightened to 0600", "tightened to 0700"} {
		if !strings.Contains(first, want) {
			t.Errorf("auth status does not report %q:\n%s", want, first)
		}
	}
	if !strings.Contains(h.log.String(), "credentials permissions fixed") {
		t.Errorf("the log does not record the fix:\n%s", h.log)
	}
	for p, want := range map[string]os.FileMode{file: 0o600, h.credsDir: 0o700} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %04o", p, info.Mode().Perm(), want)
		}
	}
	h.run(ctx, "auth", "status")
	if again := strings.TrimPrefix(h.errOut.String(), first); strings.Contains(again, "was mode") {
		t.Errorf("reported again once fixed:\n%s", again)
	}
}
