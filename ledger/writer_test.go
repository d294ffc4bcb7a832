package ledger

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// fakeSink is a disk that can be slow (blocked until released) or full.
type fakeSink struct {
	entered chan int       // receives each batch's size as Insert starts
	release chan struct{}  // when non-nil, Insert waits for it (or ctx)
	pruned  chan time.Time // receives each Prune's cut-off

	mu   sync.Mutex // guards fail, rows
	fail error
	rows int
}

func newFakeSink() *fakeSink {
	return &fakeSink{entered: make(chan int, 100), pruned: make(chan time.Time, 100)}
}

func (f *fakeSink) Insert(ctx context.Context, recs []Record) error {
	f.entered <- len(recs)
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.rows += len(recs)
	return nil
}

func (f *fakeSink) Prune(_ context.Context, before time.Time) (int64, error) {
	f.pruned <- before
	return 0, nil
}

func (f *fakeSink) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

func closeWriter(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWriterWritesEverythingInBatches(t *testing.T) {
	d := openTemp(t)
	w := NewWriter(d, WriterOptions{Batch: 64})
	for i := range 1000 {
		if !w.Add(rec(t0.Add(time.Duration(i)*time.Second), "claude", "m", 200, usage.Tokens{Input: 1, Output: 2})) {
			t.Fatalf("record %d dropped", i)
		}
	}
	closeWriter(t, w)
	if st := w.Stats(); st.Written != 1000 || st.Dropped != 0 || st.Failed != 0 || st.Queued != 0 {
		t.Errorf("Stats = %+v", st)
	}
	rows, err := d.Summary(context.Background(), time.Time{}, ByProvider)
	if err != nil || len(rows) != 1 || rows[0].Requests != 1000 || rows[0].OutputTokens != 2000 {
		t.Errorf("Summary = %+v, %v", rows, err)
	}
	if w.Add(rec(t0, "claude", "m", 200, usage.Tokens{})) || w.Stats().Dropped != 1 {
		t.Error("Add after Close was accepted")
	}
}

// TestSlowDiskDropsInsteadOfWaiting: while the disk holds a batch, the
// queue fills and further records are dropped and counted; Add never waits.
func TestSlowDiskDropsInsteadOfWaiting(t *testing.T) {
	sink := newFakeSink()
	sink.release = make(chan struct{})
	w := newWriter(sink, WriterOptions{Queue: 4})
	w.Add(Record{})
	<-sink.entered // the writer is stuck on the disk with one record
	accepted := 0
	for range 10 {
		if w.Add(Record{}) {
			accepted++
		}
	}
	if st := w.Stats(); accepted != 4 || st.Dropped != 6 || st.Queued != 4 {
		t.Errorf("accepted %d, Stats %+v; want 4 queued and 6 dropped", accepted, st)
	}
	close(sink.release)
	closeWriter(t, w)
	if st := w.Stats(); st.Written != 5 || st.Dropped != 6 {
		t.Errorf("after the disk caught up: %+v, want 5 written", st)
	}
}

func TestFullDiskLosesTheBatchAndSaysSo(t *testing.T) {
	sink := newFakeSink()
	full := errors.New("database or disk is full")
	sink.setFail(full)
	w := newWriter(sink, WriterOptions{})
	w.Add(Record{})
	w.Add(Record{})
	closeWriter(t, w)
	if st := w.Stats(); st.Failed != 2 || st.Written != 0 || st.LastError != full.Error() {
		t.Errorf("Stats = %+v, want 2 failed and the disk's error", st)
	}
}

func TestARecoveredDiskClearsTheError(t *testing.T) {
	sink := newFakeSink()
	sink.release = make(chan struct{})
	sink.setFail(errors.New("database or disk is full"))
	w := newWriter(sink, WriterOptions{})
	w.Add(Record{})
	<-sink.entered
	sink.release <- struct{}{} // the first batch meets the full disk
	w.Add(Record{})
	<-sink.entered
	sink.setFail(nil)
	close(sink.release) // the second finds room
	closeWriter(t, w)
	if st := w.Stats(); st.Failed != 1 || st.Written != 1 || st.LastError != "" {
		t.Errorf("Stats = %+v, want one failed, one written, no error left", st)
	}
}

func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	sink := newFakeSink()
	sink.release = make(chan struct{}) // never released
	w := newWriter(sink, WriterOptions{})
	w.Add(Record{})
	<-sink.entered
	w.Add(Record{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want the deadline's error", err)
	}
	if st := w.Stats(); st.Failed != 1 || st.Dropped != 1 {
		t.Errorf("Stats = %+v, want the batch in hand failed and the queued one dropped", st)
	}
}

func TestRetentionPrunesAtStartAndHourly(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	sink := newFakeSink()
	w := newWriter(sink, WriterOptions{Retention: 90 * 24 * time.Hour, Clock: clock})
	defer closeWriter(t, w)
	if got := <-sink.pruned; !got.Equal(t0.Add(-90 * 24 * time.Hour)) {
		t.Errorf("first prune before %v", got)
	}
	if err := clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if got := <-sink.pruned; !got.Equal(t0.Add(time.Hour - 90*24*time.Hour)) {
		t.Errorf("hourly prune before %v", got)
	}
}

func TestNoRetentionNeverPrunes(t *testing.T) {
	sink := newFakeSink()
	w := newWriter(sink, WriterOptions{})
	w.Add(Record{})
	<-sink.entered
	closeWriter(t, w)
	select {
	case at := <-sink.pruned:
		t.Errorf("pruned before %v with no retention", at)
	default:
	}
}

// TestLingerGathersOneBatch: records that arrive within Linger of the
// first share its transaction; the batch goes when Linger is up.
func TestLingerGathersOneBatch(t *testing.T) {
	clock := clockwork.NewFakeClock()
	sink := newFakeSink()
	w := newWriter(sink, WriterOptions{Linger: time.Second, Clock: clock})
	w.Add(Record{})
	if err := clock.BlockUntilContext(context.Background(), 2); err != nil { // the retention ticker and the linger timer
		t.Fatal(err)
	}
	for range 4 {
		w.Add(Record{})
	}
	select {
	case n := <-sink.entered:
		t.Fatalf("a batch of %d went before Linger was up", n)
	default:
	}
	clock.Advance(time.Second)
	if n := <-sink.entered; n != 5 {
		t.Errorf("batch of %d, want the 5 that lingered together", n)
	}
	closeWriter(t, w)
}

// TestAFullBatchGoesAtOnce: a batch's worth of records goes without
// waiting out Linger, and records still coming keep Idle from ending the
// wait: the batch is cut by size, not by a pause.
func TestAFullBatchGoesAtOnce(t *testing.T) {
	clock := clockwork.NewFakeClock()
	sink := newFakeSink()
	w := newWriter(sink, WriterOptions{Batch: 4, Linger: time.Hour, Idle: 3 * time.Millisecond, Clock: clock})
	defer closeWriter(t, w)
	w.Add(Record{})
	if err := clock.BlockUntilContext(context.Background(), 3); err != nil { // retention ticker, linger and idle timers
		t.Fatal(err)
	}
	clock.Advance(2 * time.Millisecond)
	w.Add(Record{})
	// 4ms since the first record, 2ms since the last: not quiet yet, so
	// the idle timer is set again.
	clock.Advance(2 * time.Millisecond)
	if err := clock.BlockUntilContext(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-sink.entered:
		t.Fatalf("a batch of %d went while records were still coming", n)
	default:
	}
	w.Add(Record{})
	w.Add(Record{})
	if n := <-sink.entered; n != 4 {
		t.Errorf("batch of %d, want the full 4", n)
	}
}

func TestCloseWritesWhatLingers(t *testing.T) {
	d := openTemp(t)
	w := NewWriter(d, WriterOptions{Linger: time.Hour})
	for range 3 {
		w.Add(rec(t0, "claude", "m", 200, usage.Tokens{Input: 1}))
	}
	closeWriter(t, w)
	if st := w.Stats(); st.Written != 3 {
		t.Errorf("Stats = %+v, want the 3 lingering records written at Close", st)
	}
}

// TestIdleEndsTheLingerEarly: once records stop coming for Idle, the
// batch goes without waiting out the whole Linger.
func TestIdleEndsTheLingerEarly(t *testing.T) {
	clock := clockwork.NewFakeClock()
	sink := newFakeSink()
	w := newWriter(sink, WriterOptions{Linger: time.Hour, Idle: 3 * time.Millisecond, Clock: clock})
	defer closeWriter(t, w)
	w.Add(Record{})
	if err := clock.BlockUntilContext(context.Background(), 3); err != nil { // retention ticker, linger and idle timers
		t.Fatal(err)
	}
	w.Add(Record{})
	clock.Advance(3 * time.Millisecond)
	if n := <-sink.entered; n < 1 || n > 2 {
		t.Errorf("batch of %d, want the records that came before the pause", n)
	}
}
