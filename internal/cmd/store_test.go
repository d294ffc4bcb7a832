package cmd

import (
	"errors"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

// A keyring without a secret service (a headless box over SSH) is one
// problem, reported once, before any work: not once per provider, and not
// after the user went through a browser login whose result cannot be saved.
func TestUnusableStoreFailsOnceBeforeAnyWork(t *testing.T) {
	keyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided by any .service files"))
	t.Cleanup(keyring.MockInit)
	for _, argv := range [][]string{
		{"auth", "status"},
		{"auth", "status", "corp"},
		{"auth", "login", "corp", "--no-browser"},
	} {
		t.Run(strings.Join(argv, " "), func(t *testing.T) {
			h := newHarness(t, nil)
			h.env["CCPROXY_TUI_STORE"] = "keyring"
			if code := h.run(testContext(t), argv...); code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, h.errOut)
			}
			msg := strings.TrimSpace(h.errOut.String())
			if strings.Contains(msg, "\n") || strings.Count(msg, `backend = "file"`) != 1 {
				t.Errorf("want one line naming the fix once, got:\n%s", msg)
			}
			if h.out.String() != "" {
				t.Errorf("stdout should be empty, got:\n%s", h.out)
			}
			if n := h.srv.Counts().Authorize; n != 0 {
				t.Errorf("the login reached the authorize endpoint %d times before failing", n)
			}
		})
	}
}
