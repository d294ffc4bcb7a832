package auth

import (
	"container/heap"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Scheduling limits.
const (
	// maxJitter caps how much earlier than expiry − grace a refresh may be
	// planned; the jitter spreads providers and processes apart.
	maxJitter = 30 * time.Second
	// recheck is the longest the scheduler sleeps without looking at the
	// wall clock. Timers follow the monotonic clock, which stands still while
	// a laptop is suspended; waking at least this often and comparing
	// wall-clock due times is what notices a deadline slept through.
	recheck = time.Minute
)

// SchedulerOptions configure a Scheduler. All fields are optional.
type SchedulerOptions struct {
	// Clock is the real clock when nil.
	Clock clockwork.Clock
	// Jitter returns a duration in [0, max]; nil means uniformly random.
	// Tests return fixed values to make schedules exact.
	Jitter func(max time.Duration) time.Duration
}

// Scheduler keeps every added provider fresh in the background: it refreshes
// each shortly before expiry − grace, retries temporary failures with
// back-off until the token is renewed, and stops on a refused refresh token
// until the next login. It runs one goroutine (Run) over one timer and a min-heap of due
// times; Add, Remove and the managers' logins and logouts wake it.
type Scheduler struct {
	clock  clockwork.Clock
	jitter func(time.Duration) time.Duration
	wake   chan struct{}

	mu      sync.Mutex // guards entries, queue, stop, done, stopped, sleeps, slept
	entries map[string]*entry
	queue   dueQueue
	stop    context.CancelFunc
	done    chan struct{}
	stopped bool // Stop was called: Run never runs again
	// sleeps counts the times the loop went to sleep with everything
	// handled; slept is closed (and replaced) each time. Tests wait on them
	// to know the loop has reacted to what they did.
	sleeps uint64
	slept  chan struct{}
}

// entry is one provider's place in the schedule.
type entry struct {
	m *Manager
	// due is when to act next (wall clock); zero means parked: nothing to do
	// until a login, a logout or a config change.
	due time.Time
	// jitter is how much earlier than the grace window the planned refresh
	// is, so that, once due, it is not judged premature.
	jitter time.Duration
	// retries counts consecutive temporary failures; due is then a retry.
	retries int
	// dirty asks the loop to plan afresh from the stored credentials.
	dirty bool
	index int // position in queue; -1 when not queued
}

// NewScheduler returns a stopped scheduler; Run starts it.
func NewScheduler(opts SchedulerOptions) *Scheduler {
	s := &Scheduler{
		clock:   opts.Clock,
		jitter:  opts.Jitter,
		wake:    make(chan struct{}, 1),
		entries: make(map[string]*entry),
		slept:   make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	if s.jitter == nil {
		s.jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max + 1)
		}
	}
	return s
}

// Add starts keeping m's provider fresh, replacing any manager already added
// for the same provider (a config change). It may be called before or
// while Run runs.
func (s *Scheduler) Add(m *Manager) {
	p := m.key()
	s.mu.Lock()
	if old, ok := s.entries[p]; ok {
		s.drop(old)
	}
	s.entries[p] = &entry{m: m, dirty: true, index: -1}
	s.mu.Unlock()
	m.watch(func() { s.touch(p) })
	s.poke()
}

// Remove stops refreshing provider (it was disabled or removed from config);
// one account of it is "<provider>@<account>".
func (s *Scheduler) Remove(provider string) {
	s.mu.Lock()
	e, ok := s.entries[provider]
	if ok {
		s.drop(e)
	}
	s.mu.Unlock()
	if ok {
		s.poke()
	}
}

// drop forgets e; s.mu is held.
func (s *Scheduler) drop(e *entry) {
	delete(s.entries, e.m.key())
	if e.index >= 0 {
		heap.Remove(&s.queue, e.index)
	}
	e.m.watch(nil)
}

// Run refreshes providers as they come due until ctx ends or Stop is called.
// Refreshes run one at a time on Run's goroutine; one in progress when Run is
// told to stop is allowed to finish, because abandoning it could lose a
// rotated refresh token.
func (s *Scheduler) Run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	s.mu.Lock()
	if s.stop != nil || s.stopped {
		s.mu.Unlock()
		return // already running, or stopped for good
	}
	s.stop, s.done = cancel, done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.stop, s.done = nil, nil
		s.mu.Unlock()
	}()

	for {
		s.replan(ctx)
		for {
			e := s.popDue(s.clock.Now())
			if e == nil {
				break
			}
			s.fire(ctx, e)
			if ctx.Err() != nil {
				return
			}
			s.replan(ctx)
		}
		// A wake-up raised by the refreshes just done (or by a login that
		// raced them) is handled now, before sleeping on a stale plan.
		select {
		case <-s.wake:
			continue
		default:
		}
		t := s.clock.NewTimer(s.sleep(s.clock.Now()))
		s.armed()
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
			t.Stop()
		case <-t.Chan():
		}
	}
}

// Stop ends Run and waits until its goroutine has returned. A stopped
// Scheduler stays stopped: a Run that had not started yet (Stop raced
// `go s.Run(ctx)`) returns at once, so no goroutine is left behind.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stopped = true
	s.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	<-done
}

// armed records that the loop is about to sleep with nothing left to do.
func (s *Scheduler) armed() {
	s.mu.Lock()
	s.sleeps++
	close(s.slept)
	s.slept = make(chan struct{})
	s.mu.Unlock()
}

// touch marks provider for re-planning: its credentials changed.
func (s *Scheduler) touch(provider string) {
	s.mu.Lock()
	if e, ok := s.entries[provider]; ok {
		e.dirty = true
	}
	s.mu.Unlock()
	s.poke()
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// sleep is how long the loop may wait at now: until the earliest due time,
// but never longer than recheck.
func (s *Scheduler) sleep(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := recheck
	if len(s.queue) > 0 {
		d = min(d, s.queue[0].due.Sub(now))
	}
	return max(d, time.Millisecond)
}

// popDue removes and returns an entry whose due time has come, if any.
func (s *Scheduler) popDue(now time.Time) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 || now.Before(s.queue[0].due) {
		return nil
	}
	return heap.Pop(&s.queue).(*entry)
}

// replan plans every dirty entry from its manager's current credentials.
func (s *Scheduler) replan(ctx context.Context) {
	s.mu.Lock()
	var dirty []*entry
	for _, e := range s.entries {
		if e.dirty {
			e.dirty = false
			dirty = append(dirty, e)
		}
	}
	s.mu.Unlock()
	for _, e := range dirty {
		next := s.planRefresh(ctx, e.m)
		s.mu.Lock()
		current := s.entries[e.m.key()] == e
		if current {
			e.retries = next.retries
			s.set(e, next.due, next.jitter)
		}
		s.mu.Unlock()
		if current {
			attempt := time.Time{}
			if next.retry {
				attempt = next.due
			}
			e.m.plan(next.due, attempt)
		}
	}
}

// planRefresh draws the jitter for m's next planned refresh and returns the
// step its stored credentials call for when nothing was just attempted.
func (s *Scheduler) planRefresh(ctx context.Context, m *Manager) step {
	now := s.clock.Now()
	c, err := m.current(ctx, now)
	return nextStep(now, s.view(m, c, err), outcome{}, s.jitterFor(c, now))
}

// jitterFor draws how much earlier than expiry − grace c is refreshed: up
// to a tenth of its lifetime, at most maxJitter.
func (s *Scheduler) jitterFor(c Credentials, now time.Time) time.Duration {
	if c.ExpiresAt.IsZero() {
		return 0
	}
	life := c.ExpiresAt.Sub(c.ObtainedAt)
	if c.ObtainedAt.IsZero() || life <= 0 {
		life = c.ExpiresAt.Sub(now)
	}
	return max(0, min(s.jitter(min(life/10, maxJitter)), maxJitter))
}

// view gathers what nextStep needs to know of m.
func (s *Scheduler) view(m *Manager, c Credentials, err error) stored {
	return stored{creds: c, err: err, refused: err == nil && m.refused(c) != nil, unsaved: m.HasUnsaved(), grace: m.grace}
}

// stored is what the store (and the manager's memory of refreshed
// credentials it could not write yet) says about one provider.
type stored struct {
	creds   Credentials
	err     error // reading failed: not logged in, corrupt, unreadable
	refused bool  // the server refused creds' refresh token
	unsaved bool  // refreshed credentials wait in memory for the store
	grace   time.Duration
}

// outcome is what the last attempt came to; the zero value means none was
// made (a plan after a login, a config change or a wake-up).
type outcome struct {
	attempted bool
	err       error
	refreshed bool
	// retries counts the consecutive temporary failures before this one.
	retries int
	// extra is the jitter added to a back-off wait, drawn by the caller.
	extra time.Duration
}

// step is the scheduler's next action for one provider.
type step struct {
	due     time.Time // when to act (wall clock); zero: parked until the credentials change
	retry   bool      // due is a retry after a temporary failure
	retries int       // consecutive temporary failures so far
	// jitter is how early the planned refresh is (the given jitter), so
	// that, once due, it is not judged premature.
	jitter time.Duration
}

// Retry limits of nextStep.
const (
	// expiredRetry caps the wait between retries once the token has
	// expired: requests are failing, so the moment the server answers
	// again must not be missed by minutes.
	expiredRetry = 15 * time.Second
	// minRetry is the shortest wait between two attempts.
	minRetry = time.Second
	// saveRetry is how often credentials kept in memory are offered to
	// the store again.
	saveRetry = 5 * time.Second
)

// nextStep decides what the scheduler does next for one provider, from the
// time, what is stored and how the last attempt went. It is pure: the
// clock, the store and the randomness are its arguments.
//
// A temporary failure (network, timeout, lock wait, 5xx, 429, a full disk)
// is retried with back-off, and never given up: the retry lands before
// expiry while the token is valid, and within expiredRetry once it is not.
// A refusal (login required, misconfiguration) parks the provider until
// its credentials change.
func nextStep(now time.Time, st stored, last outcome, jitter time.Duration) step {
	c := st.creds
	transient := last.err != nil && errors.Is(last.err, ErrTransient)
	if st.err != nil && errors.Is(st.err, ErrTransient) {
		transient = true // the store itself failed: try again
	}
	switch {
	case transient:
		n := last.retries + 1
		wait := backoff(n) + last.extra
		if c.Valid(now) && !c.ExpiresAt.IsZero() {
			// Halve the time left rather than sleep past expiry.
			wait = min(wait, c.ExpiresAt.Sub(now)/2)
		} else if st.err == nil {
			wait = min(wait, expiredRetry)
		}
		// A server that said when to come back is not asked sooner.
		wait = max(wait, minRetry, serverWait(last.err))
		return step{due: now.Add(wait).Round(0), retry: true, retries: n, jitter: jitter}
	case st.err != nil, st.refused, last.err != nil:
		return step{}
	case c.ExpiresAt.IsZero():
		if st.unsaved {
			return step{due: now.Add(saveRetry).Round(0)}
		}
		return step{}
	}
	// Wall-clock time (no monotonic reading), so comparisons notice a
	// suspended machine.
	due := c.ExpiresAt.Add(-window(c, st.grace) - jitter).Round(0)
	if last.attempted && !last.refreshed && !due.After(now) {
		// Nothing was refreshed yet the plan says now: never spin.
		due = now.Add(minRetry).Round(0)
	}
	if st.unsaved {
		due = minTime(due, now.Add(saveRetry).Round(0))
	}
	return step{due: due, jitter: jitter}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// set queues e at due, or parks it when due is zero; s.mu is held.
func (s *Scheduler) set(e *entry, due time.Time, jitter time.Duration) {
	e.due, e.jitter = due, jitter
	switch {
	case e.index >= 0 && due.IsZero():
		heap.Remove(&s.queue, e.index)
	case e.index >= 0:
		heap.Fix(&s.queue, e.index)
	case !due.IsZero():
		heap.Push(&s.queue, e)
	}
}

// fire refreshes e's provider and plans what comes next from the outcome
// and from what is stored now: a failure before the store was read (the
// lock wait timed out) is judged against the stored credentials, never
// against an empty result.
func (s *Scheduler) fire(ctx context.Context, e *entry) {
	m := e.m
	reason := "scheduled"
	if e.retries > 0 {
		reason = "retry"
	}
	// The refresh is allowed to finish even if ctx ends meanwhile.
	r, err := m.refresh(context.WithoutCancel(ctx), refreshReq{jitter: e.jitter, reason: reason})

	now := s.clock.Now()
	c, cerr := m.current(ctx, now)
	s.mu.Lock()
	retries, jitter := e.retries, e.jitter
	s.mu.Unlock()
	last := outcome{attempted: true, err: err, refreshed: r.refreshed, retries: retries}
	if err == nil {
		jitter = s.jitterFor(c, now)
	} else {
		// A retry keeps the jitter of the refresh it retries, so it is not
		// judged premature.
		w := backoff(retries + 1)
		last.extra = max(0, min(s.jitter(w/10), w/10))
	}
	next := nextStep(now, s.view(m, c, cerr), last, jitter)

	s.mu.Lock()
	e.retries, e.dirty = next.retries, false
	current := s.entries[m.key()] == e
	if current {
		s.set(e, next.due, next.jitter)
	}
	s.mu.Unlock()
	if current {
		attempt := time.Time{}
		if next.retry {
			attempt = next.due
		}
		m.plan(next.due, attempt)
	}
}

// dueQueue is a min-heap of entries by due time.
type dueQueue []*entry

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q dueQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *dueQueue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}

func (q *dueQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}
