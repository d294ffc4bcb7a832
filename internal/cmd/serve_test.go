package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestServeFlagBeatsEnvironmentBeatsFile holds a port and names it in both
// the file and CCPROXY_TUI_LISTEN: only --listen can make serve start, and
// --log-format json must make every stderr line a JSON object.
func TestServeFlagBeatsEnvironmentBeatsFile(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	h := newHarness(t, nil)
	h.writeConfig(fmt.Sprintf("\n[proxy]\nlisten = %q\n", busy.Addr().String()))

	t.Run("file", func(t *testing.T) {
		if code := h.run(testContext(t), "serve"); code != 1 || !strings.Contains(h.errOut.String(), busy.Addr().String()) {
			t.Fatalf("exit %d: %s", code, h.errOut)
		}
	})
	h.env["CCPROXY_TUI_LISTEN"] = busy.Addr().String()
	t.Run("environment", func(t *testing.T) {
		h.errOut.buf.Reset()
		if code := h.run(testContext(t), "serve"); code != 1 || !strings.Contains(h.errOut.String(), "--listen") {
			t.Fatalf("exit %d: %s", code, h.errOut)
		}
	})
	t.Run("flag", func(t *testing.T) {
		h.errOut.buf.Reset()
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		done := h.runAsync(ctx, "serve", "--listen", "127.0.0.1:0", "--log-format", "json")
		url := h.errOut.waitFor(testContext(t), t, regexp.MustCompile(`"msg":"serving; stop with Ctrl-C","url":"(http://127\.0\.0\.1:\d+)"`))
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("healthz %s", resp.Status)
		}
		cancel() // what SIGINT does
		if code := <-done; code != 0 {
			t.Fatalf("exit %d: %s", code, h.errOut)
		}
		for _, line := range strings.Split(strings.TrimSpace(h.errOut.String()), "\n") {
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Errorf("not JSON: %q", line)
			}
		}
		if !strings.Contains(h.errOut.String(), `"msg":"stopped"`) {
			t.Errorf("stderr:\n%s", h.errOut)
		}
	})
}
