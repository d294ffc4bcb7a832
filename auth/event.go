package auth

import (
	"sync"
	"sync/atomic"
	"time"
)

// EventKind names what happened to a provider's credentials.
type EventKind string

// The kinds of Event; the dashboard's activity log and the log file show them.
const (
	LoginStarted     EventKind = "login_started"
	LoginSucceeded   EventKind = "login_succeeded"
	LoginFailed      EventKind = "login_failed"
	RefreshStarted   EventKind = "refresh_started"
	RefreshSucceeded EventKind = "refresh_succeeded"
	RefreshFailed    EventKind = "refresh_failed"
	LoggedOut        EventKind = "logout"
	NeedsLogin       EventKind = "needs_login"
)

// Event reports one step of a provider's credential lifecycle. It carries
// masked previews only, so it can be shown and logged as is. On a refresh
// that rotated tokens, Before and After hold the refresh-token previews so a
// reader can see the token really changed.
type Event struct {
	Time      time.Time
	Provider  string
	Kind      EventKind
	Message   string
	ExpiresAt time.Time
	Before    string
	After     string
	Err       error
}

// Bus fans events out to subscribers. Publishing never blocks: a subscriber
// whose buffer is full misses the event, and the miss is counted.
type Bus struct {
	mu      sync.Mutex // guards subs
	subs    map[*subscriber]struct{}
	dropped atomic.Uint64
}

type subscriber struct {
	ch chan Event
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: make(map[*subscriber]struct{})} }

// Subscribe returns a channel that receives events published from now on,
// buffered to size, and a cancel func that closes it. Cancel is idempotent.
func (b *Bus) Subscribe(size int) (<-chan Event, func()) {
	if size < 1 {
		size = 1
	}
	s := &subscriber{ch: make(chan Event, size)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			close(s.ch)
		})
	}
}

// Publish delivers e to every subscriber that has room. A nil Bus discards.
func (b *Bus) Publish(e Event) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.ch <- e:
		default:
			b.dropped.Add(1)
		}
	}
}

// Dropped counts events that subscribers missed because they were slow.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }
