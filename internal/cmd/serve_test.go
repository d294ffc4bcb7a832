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

// CCPROXY_TUI_LOG_LEVEL=debug makes serve log each request; a level that
// is not one is a usage error naming the variable, and --log-level beats
// the variable.
func TestServeLogLevel(t *testing.T) {
	h := newHarness(t, nil)
	h.env["CCPROXY_TUI_LOG_LEVEL"] = "chatty"
	if code := h.run(testContext(t), "serve", "--listen", "127.0.0.1:0"); code != 2 || !strings.Contains(h.errOut.String(), "CCPROXY_TUI_LOG_LEVEL: log level") {
		t.Fatalf("exit %d: %s", code, h.errOut)
	}
	for _, tc := range []struct {
		env, flag string
		debug     bool
	}{{"debug", "", true}, {"debug", "info", false}, {"", "debug", true}} {
		h.env["CCPROXY_TUI_LOG_LEVEL"] = tc.env
		h.errOut.buf.Reset()
		ctx, cancel := context.WithCancel(testContext(t))
		args := []string{"serve", "--listen", "127.0.0.1:0"}
		if tc.flag != "" {
			args = append(args, "--log-level", tc.flag)
		}
		done := h.runAsync(ctx, args...)
		url := h.errOut.waitFor(testContext(t), t, regexp.MustCompile(`msg="serving; stop with Ctrl-C" url=(http://127\.0\.0\.1:\d+)`))
		resp, err := http.Get(url + "/corp/v1/messages")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("exit %d: %s", code, h.errOut)
		}
		if got := strings.Contains(h.errOut.String(), `msg="proxy request"`); got != tc.debug {
			t.Errorf("env %q flag %q: request logged at debug %v, want %v:\n%s", tc.env, tc.flag, got, tc.debug, h.errOut)
		}
		// The last requests' summary (a 401: an error) comes before the
		// last line, not after it.
		lines := strings.Split(strings.TrimSpace(h.errOut.String()), "\n")
		if last := lines[len(lines)-1]; !strings.Contains(last, "msg=stopped") ||
			!strings.Contains(lines[len(lines)-2], "msg=requests requests=1 errors=1") {
			t.Errorf("the log does not end with the summary, then stopped:\n%s", h.errOut)
		}
	}
}
