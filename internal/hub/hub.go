// Package hub fans events out from background work (token refreshes, proxied
// requests) to whoever is watching: the dashboard, serve's log, tests. A
// publisher never waits for a reader: an event a full subscriber cannot take
// is dropped, and every drop is counted so it can be shown.
package hub

import (
	"sync"
	"sync/atomic"
)

// Hub delivers values of E to its subscribers. The zero value is ready to
// use, and a nil *Hub discards what is published to it.
type Hub[E any] struct {
	mu      sync.RWMutex // guards subs; publishers hold it shared while sending
	subs    map[chan E]struct{}
	dropped atomic.Uint64
}

// Subscribe returns a channel that receives what is published from now on,
// buffered to size (at least 1), and a cancel func that unsubscribes and
// closes the channel. Cancel may be called more than once.
func (h *Hub[E]) Subscribe(size int) (<-chan E, func()) {
	ch := make(chan E, max(size, 1))
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[chan E]struct{})
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, ch)
			h.mu.Unlock()
			close(ch)
		})
	}
}

// Publish hands e to every subscriber with room in its buffer and counts a
// drop for each one without.
func (h *Hub[E]) Publish(e E) {
	if h == nil {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
			h.dropped.Add(1)
		}
	}
}

// Dropped counts the deliveries missed because a subscriber was slow.
func (h *Hub[E]) Dropped() uint64 {
	if h == nil {
		return 0
	}
	return h.dropped.Load()
}
