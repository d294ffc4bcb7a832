package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"github.com/jonboulle/clockwork"
)

// DefaultLockTimeout is how long Lock waits for another holder before giving
// up with ErrLockTimeout: far longer than any refresh round-trip, short enough
// that a wedged process is reported rather than waited on forever.
const DefaultLockTimeout = 10 * time.Second

// lockRetry is how often a waiter retries a file lock another process holds.
// flock(2) cannot be waited on with a deadline, so waiting is polling.
const lockRetry = 5 * time.Millisecond

// lockSet hands out one in-process lock per provider. A 1-buffered channel
// rather than a mutex, so that waiting for it can end with ctx or a timeout.
type lockSet struct {
	mu    sync.Mutex               // guards chans
	chans map[string]chan struct{} // provider → its lock (full when held)
}

func (s *lockSet) get(provider string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chans == nil {
		s.chans = make(map[string]chan struct{})
	}
	ch, ok := s.chans[provider]
	if !ok {
		ch = make(chan struct{}, 1)
		s.chans[provider] = ch
	}
	return ch
}

// lockWaiter is what Lock needs to wait: a clock for the deadline and retries
// and the longest it may wait.
type lockWaiter struct {
	clock   clockwork.Clock
	timeout time.Duration
}

// acquire takes sem (this process) and then an exclusive flock on lockPath
// (other processes), in that order, so that goroutines queue on the cheap
// channel and only one of them polls the file. It waits until ctx ends or
// w.timeout passes, whichever is first. An empty lockPath means this process
// is the only one that matters (the memory backend).
func (w lockWaiter) acquire(ctx context.Context, provider string, sem chan struct{}, lockPath string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", provider, err)
	}
	deadline := w.clock.NewTimer(w.timeout)
	defer deadline.Stop()
	timedOut := func(holder string) error {
		what := lockPath
		if what == "" {
			what = "the in-memory lock"
		}
		return fmt.Errorf("lock %s: waited %s for %s held by %s: %w", provider, w.timeout, what, holder, ErrLockTimeout)
	}

	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("lock %s: %w", provider, ctx.Err())
	case <-deadline.Chan():
		return nil, timedOut("another task in this process")
	}
	if lockPath == "" {
		var once sync.Once
		return func() { once.Do(func() { <-sem }) }, nil
	}

	fl := flock.New(lockPath, flock.SetFlag(os.O_CREATE|os.O_RDONLY|syscall.O_NOFOLLOW), flock.SetPermissions(0o600))
	var retry clockwork.Timer
	for {
		ok, err := fl.TryLock()
		if err != nil {
			<-sem
			stopTimer(retry)
			return nil, fsError("lock "+provider, lockPath, err)
		}
		if ok {
			break
		}
		if retry == nil {
			retry = w.clock.NewTimer(lockRetry)
		} else {
			retry.Reset(lockRetry)
		}
		select {
		case <-retry.Chan():
		case <-ctx.Done():
			<-sem
			retry.Stop()
			return nil, fmt.Errorf("lock %s: %w", provider, ctx.Err())
		case <-deadline.Chan():
			<-sem
			retry.Stop()
			return nil, timedOut("another process")
		}
	}
	stopTimer(retry)

	var once sync.Once
	return func() {
		once.Do(func() {
			// Unlock also closes the descriptor; an error here leaves
			// nothing to do, since closing releases a flock anyway.
			_ = fl.Unlock()
			<-sem
		})
	}, nil
}

func stopTimer(t clockwork.Timer) {
	if t != nil {
		t.Stop()
	}
}

// fsError wraps an OS error with what was being done. Permission failures
// become ErrPermission naming the path, so callers can tell the user which
// file or folder to fix; the OS error text holds paths, never file contents.
func fsError(op, path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%s: %s: %w", op, path, ErrPermission)
	}
	return fmt.Errorf("%s: %w", op, err)
}
