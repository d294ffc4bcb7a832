package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// Timeouts of a proxied exchange.
const (
	// DefaultIdleTimeout is how long an upstream may send nothing between
	// two pieces of its answer before it is cut.
	DefaultIdleTimeout = 5 * time.Minute
	// AnswerWait is how long an upstream may take to send its headers when
	// the idle timeout is shorter. A non-streaming completion sends them
	// only once the whole answer is ready, which the APIs and their SDKs
	// allow ten minutes: the proxy gives up no sooner than its client would.
	AnswerWait = 10 * time.Minute
	// DefaultBodyTimeout is how long a client has to send its whole
	// request body: far longer than any real client needs on loopback,
	// short enough that a trickled body cannot hold a connection for long.
	DefaultBodyTimeout = time.Minute
)

// errIdle is the cause of an attempt cancelled by the idle timeout.
var errIdle = errors.New("upstream idle")

// idleError is an upstream that sent nothing for the idle timeout, or no
// headers within the wait for an answer.
type idleError struct {
	after   time.Duration
	headers bool // cut before its headers
}

func (e *idleError) Error() string {
	if e.headers {
		return fmt.Sprintf("the upstream sent no answer within %s", e.after)
	}
	return fmt.Sprintf("the upstream sent nothing for %s", e.after)
}

// idleWatch cuts upstream attempts that have been silent too long: until
// their headers for the wait, then for the idle timeout. It is one timer
// for every attempt in flight, due when the first of them would reach its
// limit; a sign of life (headers, a piece of body) only stamps the
// attempt's time, so a busy stream costs an atomic store per read rather
// than a timer reset.
type idleWatch struct {
	clock clockwork.Clock
	idle  time.Duration
	wait  time.Duration // before the headers: the idle timeout, at least AnswerWait
	base  time.Time     // stamps are durations since base: monotonic on the real clock

	mu     sync.Mutex
	active map[*attempt]struct{}
	armed  bool          // the timer is set; it re-arms itself while attempts remain
	due    time.Duration // when it is set for, on the watch's scale
	timer  clockwork.Timer
}

// attempt is one upstream attempt under the watch. An exchange holds one
// and reuses it for its retry, which starts only after the first attempt
// has ended.
type attempt struct {
	last   atomic.Int64 // the latest sign of life, as a duration since the watch's base
	limit  atomic.Int64 // the silence it is allowed now, a time.Duration
	fired  atomic.Bool
	cancel context.CancelCauseFunc
}

func newIdleWatch(clock clockwork.Clock, idle time.Duration) *idleWatch {
	return &idleWatch{clock: clock, idle: idle, wait: max(idle, AnswerWait), base: clock.Now(), active: map[*attempt]struct{}{}}
}

// since is the time on the watch's own scale.
func (w *idleWatch) since() time.Duration { return w.clock.Since(w.base) }

// start puts a under the watch: cancel ends it when it falls silent.
func (w *idleWatch) start(a *attempt, cancel context.CancelCauseFunc) {
	a.cancel = cancel
	a.fired.Store(false)
	a.limit.Store(int64(w.wait))
	a.last.Store(int64(w.since()))
	w.mu.Lock()
	w.active[a] = struct{}{}
	if !w.armed {
		w.arm()
	}
	w.mu.Unlock()
}

// kick notes a sign of life from a.
func (w *idleWatch) kick(a *attempt) { a.last.Store(int64(w.since())) }

// answered notes a's headers: from now on it may be silent for the idle
// timeout. When that brings a's due time before the timer's, the timer
// is brought forward.
func (w *idleWatch) answered(a *attempt) {
	now := w.since()
	a.last.Store(int64(now))
	if w.idle == w.wait {
		return
	}
	a.limit.Store(int64(w.idle))
	w.mu.Lock()
	if due := now + w.idle; w.armed && due < w.due {
		w.timer.Reset(due - now)
		w.due = due
	}
	w.mu.Unlock()
}

// end takes a off the watch; the last one out stops the timer, so an idle
// proxy has none set.
func (w *idleWatch) end(a *attempt) {
	w.mu.Lock()
	delete(w.active, a)
	if len(w.active) == 0 && w.armed {
		w.timer.Stop()
		w.armed = false
	}
	w.mu.Unlock()
}

// sweep cuts every attempt silent for the idle timeout and sets the timer
// for the next one due.
func (w *idleWatch) sweep() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.since()
	for a := range w.active {
		if time.Duration(a.last.Load()+a.limit.Load()) <= now {
			a.fired.Store(true)
			a.cancel(errIdle)
			delete(w.active, a)
		}
	}
	w.armed = false
	if len(w.active) > 0 {
		w.arm()
	}
}

// arm sets the timer for the attempt due first. The caller holds mu and
// has attempts under the watch.
func (w *idleWatch) arm() {
	now := w.since()
	next := time.Duration(-1)
	for a := range w.active {
		if due := time.Duration(a.last.Load() + a.limit.Load()); next < 0 || due < next {
			next = due
		}
	}
	d := max(next-now, 0)
	w.due = now + d
	if w.timer == nil {
		w.timer = w.clock.AfterFunc(d, w.sweep)
	} else {
		w.timer.Reset(d)
	}
	w.armed = true
}

// send makes one upstream attempt under the idle timeout: silence before
// the headers fails the attempt with an *idleError; silence in the body
// cuts the body, and the exchange remembers why. The exchange's context is
// the attempt's: cancelling it on silence aborts the round trip or the
// body read, wherever the attempt is.
func (t *retrier) send(req *http.Request) (*http.Response, error) {
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if t.watch == nil || x == nil || x.cancel == nil {
		return t.next.RoundTrip(req)
	}
	a := &x.attempt
	t.watch.start(a, x.cancel)
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.watch.end(a)
		if a.fired.Load() {
			return nil, &idleError{after: t.watch.wait, headers: true}
		}
		return nil, err
	}
	t.watch.answered(a)
	x.idleBody = idleBody{ReadCloser: resp.Body, w: t.watch, a: a, x: x}
	resp.Body = &x.idleBody
	return resp, nil
}

// idleBody notes a sign of life on every read that brings data.
type idleBody struct {
	io.ReadCloser
	w *idleWatch
	a *attempt
	x *exchange
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.kick(b.a)
	}
	if err != nil && b.a.fired.Load() {
		b.x.idleCut.Store(true)
		return n, &idleError{after: b.w.idle}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.w.end(b.a)
	return b.ReadCloser.Close()
}

// readDeadline bounds how long the client may take to send its body. A
// writer without a connection (a test recorder) has no deadline.
func readDeadline(w http.ResponseWriter, d time.Duration) (clear func()) {
	if d <= 0 {
		return func() {}
	}
	// The server's own writer has the method; asking it directly spares
	// the ResponseController a request would otherwise allocate.
	rc, ok := w.(readDeadliner)
	if !ok {
		rc = http.NewResponseController(w)
	}
	if rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return func() {}
	}
	return func() { _ = rc.SetReadDeadline(time.Time{}) }
}

// readDeadliner is what of a ResponseWriter sets the connection's read
// deadline (net/http's own writer, or a ResponseController).
type readDeadliner interface{ SetReadDeadline(time.Time) error }
