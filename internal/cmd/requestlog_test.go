package cmd

import (
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/internal/logging"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// At info level serve writes one summary per minute, not a line per
// request; the per-request lines are there at debug.
func TestServeLogsAMinuteSummaryNotEveryRequest(t *testing.T) {
	ctx := testContext(t)
	for _, debug := range []bool{false, true} {
		out := newOutput()
		opts := logging.Options{}
		if debug {
			opts.Level = slog.LevelDebug
		}
		log := logging.New(out, opts)
		clock := clockwork.NewFakeClock()
		events := make(chan proxy.Event) // unbuffered: each send is consumed before the next step
		quit, done := make(chan struct{}), make(chan struct{})
		go logRequests(log, clock, events, quit, done)
		for i := range 50 {
			events <- proxy.Event{Provider: "claude", Method: "POST", Path: "/v1/messages", Status: 200 + 300*(i%25/24), Bytes: 10}
		}
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		out.waitFor(ctx, t, regexp.MustCompile(`msg=requests requests=50 errors=2 bytes=500`))
		close(quit)
		<-done
		lines := strings.Count(out.String(), "msg=request ")
		if want := map[bool]int{false: 0, true: 50}[debug]; lines != want {
			t.Errorf("debug=%v: %d per-request lines, want %d:\n%s", debug, lines, want, out)
		}
	}
}
