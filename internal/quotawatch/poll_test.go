package quotawatch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

const codexBody = `{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,
 "primary_window":{"used_percent":42,"limit_window_seconds":18000,"reset_after_seconds":4200},
 "secondary_window":{"used_percent":18,"limit_window_seconds":604800,"reset_after_seconds":273600}}}`

// endpoint is a fake usage endpoint on loopback answering with handler,
// counting what it is asked.
type endpoint struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newEndpoint(t *testing.T, handler http.HandlerFunc) *endpoint {
	t.Helper()
	e := &endpoint{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) target(provider string) Target {
	return Target{Provider: provider, Request: func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/wham/usage", nil)
	}}
}

func answer(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func pollingWatcher(clock clockwork.Clock, dir string) *Watcher {
	w := New(Options{Clock: clock})
	w.EnablePolling(PollOptions{StateDir: dir})
	return w
}

func TestPollObservesAndWaitsFiveMinutes(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(t0)
	e := newEndpoint(t, answer(200, codexBody))
	w := pollingWatcher(clock, "")
	res, err := w.Poll(ctx, e.target("codex"))
	if err != nil || res.Outcome != Observed {
		t.Fatalf("first poll: %+v, %v", res, err)
	}
	all, _ := w.Latest(ctx)
	if len(all) != 1 || all[0].Source != quota.FromEndpoint || all[0].Windows[0].UsedPercent != 42 {
		t.Fatalf("kept %+v", all)
	}
	clock.Advance(PollEvery - time.Second)
	if res, _ := w.Poll(ctx, e.target("codex")); res.Outcome != Skipped || e.hits.Load() != 1 {
		t.Errorf("within 5 minutes: %+v after %d asks", res, e.hits.Load())
	}
	clock.Advance(time.Second)
	if res, err := w.Poll(ctx, e.target("codex")); res.Outcome != Observed || e.hits.Load() != 2 {
		t.Errorf("after 5 minutes: %+v, %v after %d asks", res, err, e.hits.Load())
	}
}

func TestPollSkipsWhenTrafficIsFresh(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(t0)
	e := newEndpoint(t, answer(200, codexBody))
	w := pollingWatcher(clock, "")
	_, _ = w.Observe(ctx, snap("codex", t0, quota.FromHeaders, quota.Window{Name: "primary", UsedPercent: 5}))
	clock.Advance(PassiveFresh - time.Second)
	if res, _ := w.Poll(ctx, e.target("codex")); res.Outcome != Skipped || e.hits.Load() != 0 {
		t.Fatalf("fresh traffic: %+v, %d asks", res, e.hits.Load())
	}
	clock.Advance(time.Second)
	if res, err := w.Poll(ctx, e.target("codex")); res.Outcome != Observed {
		t.Errorf("stale traffic: %+v, %v", res, err)
	}
}

func TestPollHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wait    time.Duration
	}{
		{"429 with Retry-After", answer(429, `{"type":"error","error":{"type":"rate_limit_error"}}`, "Retry-After", "900"), 15 * time.Minute},
		{"429 with Retry-After 0 still waits 5m", answer(429, `{}`, "Retry-After", "0"), PollEvery},
		{"503 without one", answer(503, "busy"), PollEvery},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clock := clockwork.NewFakeClockAt(t0)
			e := newEndpoint(t, tc.handler)
			w := pollingWatcher(clock, "")
			if res, err := w.Poll(ctx, e.target("claude")); res.Outcome != Deferred || err != nil {
				t.Fatalf("first: %+v, %v", res, err)
			}
			clock.Advance(tc.wait - time.Second)
			_, _ = w.Poll(ctx, e.target("claude"))
			if e.hits.Load() != 1 {
				t.Fatalf("asked %d times before the Retry-After", e.hits.Load())
			}
			clock.Advance(time.Second)
			_, _ = w.Poll(ctx, e.target("claude"))
			if e.hits.Load() != 2 {
				t.Errorf("asked %d times after the Retry-After", e.hits.Load())
			}
		})
	}
}

func TestPollFaults(t *testing.T) {
	tests := []struct {
		name    string
		handler func(t *testing.T, arrived chan<- struct{}) http.HandlerFunc
		cancel  bool
		want    string
	}{
		{"garbage", func(*testing.T, chan<- struct{}) http.HandlerFunc { return answer(200, "<html>") }, false, "usage endpoint"},
		{"500", func(*testing.T, chan<- struct{}) http.HandlerFunc { return answer(500, "oops") }, false, "500"},
		{"reset connection", func(t *testing.T, _ chan<- struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				c, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				_ = c.Close()
			}
		}, false, "usage endpoint"},
		{"slow: the caller gives up", func(_ *testing.T, arrived chan<- struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-r.Context().Done()
			}
		}, true, "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			e := newEndpoint(t, tc.handler(t, arrived))
			clock := clockwork.NewFakeClockAt(t0)
			w := pollingWatcher(clock, "")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				go func() { <-arrived; cancel() }()
			}
			res, err := w.Poll(ctx, e.target("codex"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || res.Outcome == Observed {
				t.Fatalf("Poll = %+v, %v; want an error with %q", res, err, tc.want)
			}
			// A failure waits its 5 minutes like a success: no retry storm.
			_, _ = w.Poll(context.Background(), e.target("codex"))
			if e.hits.Load() != 1 {
				t.Errorf("asked %d times right after a failure", e.hits.Load())
			}
		})
	}
}

func TestPollMissingScopeIsReportedOnce(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(t0)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		known   bool
		asks    int64
	}{
		{"known from the login's scopes", answer(200, codexBody), true, 0},
		{"learnt from a 403", answer(403, `{"type":"error","error":{"type":"permission_error","message":"OAuth token does not meet scope requirement user:profile"}}`), false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpoint(t, tc.handler)
			w := pollingWatcher(clock, "")
			tg := e.target("claude")
			tg.MissingScope, tg.Scope = tc.known, "user:profile"
			res, err := w.Poll(ctx, tg)
			if err != nil || res.Outcome != TrafficOnly || !strings.Contains(res.Notice, "quota from traffic only") || !strings.Contains(res.Notice, "user:profile") {
				t.Fatalf("first: %+v, %v", res, err)
			}
			for range 3 {
				clock.Advance(PollEvery)
				res, err = w.Poll(ctx, tg)
				if err != nil || res.Outcome != TrafficOnly || res.Notice != "" {
					t.Fatalf("again: %+v, %v; want traffic only, silently", res, err)
				}
			}
			if e.hits.Load() != tc.asks {
				t.Errorf("the endpoint was asked %d times, want %d", e.hits.Load(), tc.asks)
			}
		})
	}
}

// The schedule is shared through the state file: a second process (a
// `quota` run) does not ask again within 5 minutes, and a state file that
// is damaged only loses the schedule.
func TestPollStateIsSharedBetweenProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := clockwork.NewFakeClockAt(t0)
	e := newEndpoint(t, answer(200, codexBody))
	if res, err := pollingWatcher(clock, dir).Poll(ctx, e.target("codex")); res.Outcome != Observed {
		t.Fatalf("first process: %+v, %v", res, err)
	}
	info, err := os.Stat(filepath.Join(dir, PollStateFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", info, err)
	}
	if res, _ := pollingWatcher(clock, dir).Poll(ctx, e.target("codex")); res.Outcome != Skipped || e.hits.Load() != 1 {
		t.Errorf("second process asked again: %+v, %d asks", res, e.hits.Load())
	}
	// A poll that is not due leaves the file alone: a dashboard asks
	// every few seconds.
	if again, err := os.Stat(filepath.Join(dir, PollStateFile)); err != nil || !os.SameFile(info, again) {
		t.Errorf("a skipped poll rewrote the state file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, PollStateFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res, err := pollingWatcher(clock, dir).Poll(ctx, e.target("codex")); res.Outcome != Observed {
		t.Errorf("after a damaged state file: %+v, %v", res, err)
	}
}
