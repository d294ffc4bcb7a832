package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// Timeouts of a proxied exchange.
const (
	// DefaultIdleTimeout is how long an upstream may send nothing, before
	// its headers or between two pieces of its body, before it is cut.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultBodyTimeout is how long a client has to send its whole
	// request body: far longer than any real client needs on loopback,
	// short enough that a trickled body cannot hold a connection for long.
	DefaultBodyTimeout = time.Minute
)

// errIdle is the cause of an attempt cancelled by the idle timeout.
var errIdle = errors.New("upstream idle")

// idleError is an upstream that sent nothing for the idle timeout.
type idleError struct{ after time.Duration }

func (e *idleError) Error() string {
	return fmt.Sprintf("the upstream sent nothing for %s", e.after)
}

// watchdog cancels an upstream attempt when it has been silent for the
// idle timeout. Every sign of life (headers, a piece of body) restarts it.
type watchdog struct {
	timer clockwork.Timer
	idle  time.Duration
	fired atomic.Bool
}

func newWatchdog(clock clockwork.Clock, idle time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{idle: idle}
	w.timer = clock.AfterFunc(idle, func() {
		w.fired.Store(true)
		cancel(errIdle)
	})
	return w
}

func (w *watchdog) kick() { w.timer.Reset(w.idle) }
func (w *watchdog) stop() { w.timer.Stop() }

// send makes one upstream attempt under the idle timeout: silence before
// the headers fails the attempt with an *idleError; silence in the body
// cuts the body, and the exchange remembers why.
func (t *retrier) send(req *http.Request) (*http.Response, error) {
	if t.idle <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	w := newWatchdog(t.clock, t.idle, cancel)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		w.stop()
		cancel(nil)
		if w.fired.Load() {
			return nil, &idleError{after: t.idle}
		}
		return nil, err
	}
	w.kick()
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	resp.Body = &idleBody{ReadCloser: resp.Body, w: w, cancel: cancel, x: x}
	return resp, nil
}

// idleBody restarts the watchdog on every read that brings data.
type idleBody struct {
	io.ReadCloser
	w      *watchdog
	cancel context.CancelCauseFunc
	x      *exchange // nil outside a proxied exchange
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.kick()
	}
	if err != nil && b.w.fired.Load() {
		if b.x != nil {
			b.x.idleCut.Store(true)
		}
		return n, &idleError{after: b.w.idle}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.w.stop()
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// readDeadline bounds how long the client may take to send its body. A
// writer without a connection (a test recorder) has no deadline.
func readDeadline(w http.ResponseWriter, d time.Duration) (clear func()) {
	rc := http.NewResponseController(w)
	if d <= 0 || rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return func() {}
	}
	return func() { _ = rc.SetReadDeadline(time.Time{}) }
}
