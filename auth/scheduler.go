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
	// Bus receives the scheduler's own decisions (giving up retrying when a
	// token expired); the refreshes themselves are announced by each
	// Manager on its own bus.
	Bus *Bus
	// Jitter returns a duration in [0, max]; nil means uniformly random.
	// Tests return fixed values to make schedules exact.
	Jitter func(max time.Duration) time.Duration
}

// Scheduler keeps every added provider fresh in the background: it refreshes
// each shortly before expiry − grace, backs off on temporary failures until
// the token expires, and stops on a refused refresh token until the next
// login. It runs one goroutine (Run) over one timer and a min-heap of due
// times; Add, Remove and the managers' logins and logouts wake it.
type Scheduler struct {
	clock  clockwork.Clock
	bus    *Bus
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
		bus:     opts.Bus,
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
	p := m.Provider()
	s.mu.Lock()
	if old, ok := s.entries[p]; ok {
		s.drop(old)
	}
	s.entries[p] = &entry{m: m, dirty: true, index: -1}
	s.mu.Unlock()
	m.watch(func() { s.touch(p) })
	s.poke()
}

// Remove stops refreshing provider (it was disabled or removed from config).
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
	delete(s.entries, e.m.Provider())
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
		due, jitter := s.planRefresh(ctx, e.m)
		s.mu.Lock()
		current := s.entries[e.m.Provider()] == e
		if current {
			e.retries = 0
			s.set(e, due, jitter)
		}
		s.mu.Unlock()
		if current {
			e.m.plan(due, time.Time{})
		}
	}
}

// planRefresh returns when m's credentials should next be refreshed and the
// jitter that makes it early; a zero time when there is nothing to do
// (not logged in, refresh token refused, a token that never expires).
func (s *Scheduler) planRefresh(ctx context.Context, m *Manager) (time.Time, time.Duration) {
	now := s.clock.Now()
	c, err := m.current(ctx, now)
	if err != nil || c.ExpiresAt.IsZero() || m.refused(c) != nil {
		return time.Time{}, 0
	}
	life := c.ExpiresAt.Sub(c.ObtainedAt)
	if c.ObtainedAt.IsZero() || life <= 0 {
		life = c.ExpiresAt.Sub(now)
	}
	j := max(0, min(s.jitter(min(life/10, maxJitter)), maxJitter))
	// Wall-clock time (no monotonic reading), so comparisons notice a
	// suspended machine.
	return c.ExpiresAt.Add(-window(c, m.grace) - j).Round(0), j
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

// fire refreshes e's provider and plans what comes next from the outcome.
func (s *Scheduler) fire(ctx context.Context, e *entry) {
	m := e.m
	reason := "scheduled"
	if e.retries > 0 {
		reason = "retry"
	}
	// The refresh is allowed to finish even if ctx ends meanwhile.
	r, err := m.refresh(context.WithoutCancel(ctx), refreshReq{jitter: e.jitter, reason: reason})

	var due, attempt time.Time
	var jit time.Duration
	switch {
	case err == nil:
		due, jit = s.planRefresh(ctx, m)
		if now := s.clock.Now(); !r.refreshed && !due.IsZero() && !due.After(now) {
			// Nothing was refreshed yet the plan says now: never spin.
			due = now.Add(time.Second).Round(0)
		}
		s.mu.Lock()
		e.retries, e.dirty = 0, false
	case errors.Is(err, ErrTransient):
		now := s.clock.Now()
		s.mu.Lock()
		e.retries++
		wait := backoff(e.retries)
		wait += max(0, min(s.jitter(wait/10), wait/10))
		// A server that said when to come back (429 Retry-After) is not
		// asked sooner.
		wait = max(wait, serverWait(err))
		next := now.Add(wait).Round(0)
		if !r.creds.ExpiresAt.IsZero() && next.Before(r.creds.ExpiresAt) {
			due, attempt, jit = next, next, e.jitter
		} else {
			s.mu.Unlock()
			s.publish(Event{Provider: m.Provider(), Kind: RefreshFailed, Err: err, ExpiresAt: r.creds.ExpiresAt,
				Message: "stopped retrying: the access token has expired; the next request or `auth refresh` tries again"})
			s.mu.Lock()
		}
	default:
		// Login required (the manager marked it and announced it), or a
		// misconfiguration no retry can fix: park until a login or a
		// config change.
		s.mu.Lock()
		e.retries = 0
	}
	current := s.entries[m.Provider()] == e
	if current {
		s.set(e, due, jit)
	}
	s.mu.Unlock()
	if current {
		m.plan(due, attempt)
	}
}

func (s *Scheduler) publish(e Event) {
	if s.bus == nil {
		return
	}
	e.Time = s.clock.Now()
	s.bus.Publish(e)
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
