package ledger

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// WriterOptions shape a Writer; zero values pick the defaults.
type WriterOptions struct {
	// Queue is how many records may wait for the disk (default
	// DefaultQueue).
	// Beyond it Add drops records and counts them, rather than wait.
	Queue int
	// Batch is the most records written in one transaction (default 256).
	Batch int
	// Linger is how long the first record of a batch waits for company
	// before the batch is written: one transaction per record costs ten
	// times what a shared one does. 0 writes at once; serve uses
	// DefaultLinger. Close writes what lingers.
	Linger time.Duration
	// Idle ends the wait early once no record has come for this long, so
	// a quiet proxy's request is on disk a few milliseconds after it
	// ended (a `usage` run right after it sees it) while a busy one still
	// shares transactions. 0 waits the whole Linger; serve uses
	// DefaultIdle.
	Idle time.Duration
	// Retention deletes records older than this, at start and hourly;
	// 0 keeps them all.
	Retention time.Duration
	// Clock times retention (default: the real clock).
	Clock clockwork.Clock
	// Logger hears about failed writes, once per change of error.
	Logger *slog.Logger
}

// Defaults of WriterOptions.
const (
	// DefaultQueue is minutes of a personal proxy's traffic and a few
	// batches of a busy one; the queue's records stay in memory once
	// touched, so it is no larger.
	DefaultQueue     = 1024
	DefaultBatch     = 256
	DefaultLinger    = 250 * time.Millisecond
	DefaultIdle      = 3 * time.Millisecond
	DefaultRetention = 90 * 24 * time.Hour
	pruneEvery       = time.Hour
)

// sink is where batches go: the DB, or in tests a disk that is slow or full.
type sink interface {
	Insert(ctx context.Context, recs []Record) error
	Prune(ctx context.Context, before time.Time) (int64, error)
}

// Writer takes records off the request path: Add never blocks, and one
// goroutine writes what has queued up in batches. When the disk is slow
// the queue fills and further records are dropped; when it fails the batch
// is lost. Both are counted in Stats, and the proxy keeps serving.
type Writer struct {
	sink  sink
	opts  WriterOptions
	queue chan Record

	closeMu sync.RWMutex // guards closed; Add holds it shared while sending
	closed  bool
	stop    chan struct{}
	done    chan struct{}
	ctx     context.Context // the writes' context, cancelled when Close gives up
	cancel  context.CancelFunc

	written, dropped, failed atomic.Int64
	lastErr                  atomic.Pointer[string]

	// The goroutine is not woken for every record: Add stamps lastAdd
	// (on base's scale) for the idle check, and says full once a
	// batch's worth waits.
	base    time.Time
	lastAdd atomic.Int64
	full    chan struct{}
}

// WriterStats are a Writer's running counts, for /status and the dashboard.
type WriterStats struct {
	Written   int64  `json:"written"`
	Dropped   int64  `json:"dropped"` // queue full (disk too slow) or Writer closed
	Failed    int64  `json:"failed"`  // lost with a batch the disk refused
	Queued    int    `json:"queued"`
	LastError string `json:"last_error,omitempty"`
}

// NewWriter starts a Writer on d. Close it to write what is queued and stop.
func NewWriter(d *DB, opts WriterOptions) *Writer { return newWriter(d, opts) }

func newWriter(s sink, opts WriterOptions) *Writer {
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{sink: s, opts: opts, queue: make(chan Record, opts.Queue), stop: make(chan struct{}), done: make(chan struct{}),
		base: opts.Clock.Now(), full: make(chan struct{}, 1)}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w
}

// Add queues r for writing and returns at once; false means it was dropped
// (the queue is full, or the Writer closed) and counted.
func (w *Writer) Add(r Record) bool {
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return false
	}
	select {
	case w.queue <- r:
	default:
		w.dropped.Add(1)
		return false
	}
	if w.opts.Idle > 0 {
		w.lastAdd.Store(int64(w.opts.Clock.Since(w.base)))
	}
	if len(w.queue) >= w.opts.Batch-1 { // the batch in hand holds the first
		select {
		case w.full <- struct{}{}:
		default:
		}
	}
	return true
}

// Stats returns the counts so far.
func (w *Writer) Stats() WriterStats {
	st := WriterStats{Written: w.written.Load(), Dropped: w.dropped.Load(), Failed: w.failed.Load(), Queued: len(w.queue)}
	if e := w.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

// Close stops taking records, writes those queued until ctx ends, and
// stops the goroutine. Records still queued when ctx ends are counted as
// dropped. Closing twice is a no-op.
func (w *Writer) Close(ctx context.Context) error {
	w.closeMu.Lock()
	already := w.closed
	w.closed = true
	w.closeMu.Unlock()
	if !already {
		close(w.stop)
	}
	select {
	case <-w.done:
		w.cancel()
		return nil
	case <-ctx.Done():
		// Cut the batch in hand short; what is still queued is dropped.
		w.cancel()
		<-w.done
		return fmt.Errorf("usage ledger closed before every queued record was written: %w", ctx.Err())
	}
}

func (w *Writer) run() {
	defer close(w.done)
	ctx := w.ctx
	w.prune(ctx)
	tick := w.opts.Clock.NewTicker(pruneEvery)
	defer tick.Stop()
	batch := make([]Record, 0, w.opts.Batch)
	for {
		select {
		case r := <-w.queue:
			batch = w.gather(append(batch[:0], r))
			w.write(ctx, batch)
		case <-tick.Chan():
			w.prune(ctx)
		case <-w.stop:
			w.drain(ctx, batch)
			return
		}
	}
}

// gather waits up to Linger for the batch to fill, then tops it up with
// whatever else is queued. It wakes for the Linger and Idle timers and
// when Add says a batch's worth waits, never for a single record: a busy
// proxy's records cost the goroutine nothing until their batch goes.
func (w *Writer) gather(batch []Record) []Record {
	if w.opts.Linger <= 0 {
		return w.fill(batch)
	}
	select { // a full signal left from the last batch is stale
	case <-w.full:
	default:
	}
	if len(w.queue) >= cap(batch)-len(batch) {
		return w.fill(batch)
	}
	t := w.opts.Clock.NewTimer(w.opts.Linger)
	defer t.Stop()
	var idle <-chan time.Time // nil, never ready, without Idle
	var it clockwork.Timer
	if w.opts.Idle > 0 {
		it = w.opts.Clock.NewTimer(w.opts.Idle)
		defer it.Stop()
		idle = it.Chan()
	}
	for {
		select {
		case <-t.Chan():
			return w.fill(batch)
		case <-idle:
			// Records may have come since the timer was set; the batch
			// goes once none has for Idle.
			quiet := w.opts.Clock.Since(w.base) - time.Duration(w.lastAdd.Load())
			if quiet < w.opts.Idle {
				it.Reset(w.opts.Idle - quiet)
				continue
			}
			return w.fill(batch)
		case <-w.full:
			return w.fill(batch)
		case <-w.stop:
			return w.fill(batch)
		}
	}
}

// fill tops batch up with whatever else is queued, without waiting.
func (w *Writer) fill(batch []Record) []Record {
	for len(batch) < cap(batch) {
		select {
		case r := <-w.queue:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// drain writes what is left after Close; new Adds are refused by then.
func (w *Writer) drain(ctx context.Context, batch []Record) {
	for {
		if ctx.Err() != nil {
			w.dropped.Add(int64(len(w.queue)))
			return
		}
		batch = w.fill(batch[:0])
		if len(batch) == 0 {
			return
		}
		w.write(ctx, batch)
	}
}

func (w *Writer) write(ctx context.Context, batch []Record) {
	if ctx.Err() != nil { // Close gave up: no disk time for these
		w.dropped.Add(int64(len(batch)))
		return
	}
	err := w.sink.Insert(ctx, batch)
	if isBusy(err) {
		// Past the busy timeout, or refused while another process turned
		// a new file to WAL: one more try before the batch is lost.
		retry := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-retry.C:
			err = w.sink.Insert(ctx, batch)
		}
		retry.Stop()
	}
	if err != nil {
		w.failed.Add(int64(len(batch)))
		w.noteErr(err)
		return
	}
	w.written.Add(int64(len(batch)))
	w.lastErr.Store(nil)
}

func (w *Writer) prune(ctx context.Context) {
	if w.opts.Retention <= 0 {
		return
	}
	if _, err := w.sink.Prune(ctx, w.opts.Clock.Now().Add(-w.opts.Retention)); err != nil {
		w.noteErr(err)
	}
}

func (w *Writer) noteErr(err error) {
	msg := err.Error()
	if old := w.lastErr.Swap(&msg); old == nil || *old != msg {
		w.opts.Logger.Warn("usage ledger: write failed; requests are still served, their records are lost", "err", msg)
	}
}
