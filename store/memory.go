package store

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/jonboulle/clockwork"
)

// Memory keeps blobs in this process only, for tests and the demo. It
// validates like the durable backends do (provider names, blob version) and
// its Lock serialises goroutines the same way, so code tested against it
// behaves the same on disk.
type Memory struct {
	mu       sync.Mutex        // guards blobs, watchers
	blobs    map[string][]byte // provider → private copy of its blob
	watchers map[chan string]struct{}
	// watching, when set (tests), is called once Watch has registered.
	watching func()
	wait     lockWaiter
	locks    lockSet
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		blobs: make(map[string][]byte),
		wait:  lockWaiter{clock: clockwork.NewRealClock(), timeout: DefaultLockTimeout},
	}
}

// OnWatch sets a func called each time a Watch has registered, so that a
// test of a watching program makes its changes only once they are seen.
func (m *Memory) OnWatch(ready func()) {
	m.mu.Lock()
	m.watching = ready
	m.mu.Unlock()
}

// Load implements Store; the caller gets its own copy.
func (m *Memory) Load(ctx context.Context, provider string) ([]byte, error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", provider, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[provider]
	if !ok {
		return nil, fmt.Errorf("load %s: %w", provider, ErrNotFound)
	}
	return bytes.Clone(b), nil
}

// Save implements Store; the store keeps its own copy.
func (m *Memory) Save(ctx context.Context, provider string, blob []byte) error {
	if err := checkSave(provider, blob); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save %s: %w", provider, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[provider] = bytes.Clone(blob)
	m.notify(provider)
	return nil
}

// notify queues provider for every watcher; m.mu is held. It never
// blocks a Save: a watcher 64 changes behind misses this one.
func (m *Memory) notify(provider string) {
	for ch := range m.watchers {
		select {
		case ch <- provider:
		default:
		}
	}
}

// Watch implements Watcher for changes made through this Memory.
func (m *Memory) Watch(ctx context.Context, changed func(provider string)) error {
	ch := make(chan string, 64)
	m.mu.Lock()
	if m.watchers == nil {
		m.watchers = make(map[chan string]struct{})
	}
	m.watchers[ch] = struct{}{}
	ready := m.watching
	m.mu.Unlock()
	changed("")
	if ready != nil {
		ready()
	}
	defer func() {
		m.mu.Lock()
		delete(m.watchers, ch)
		m.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-ch:
			changed(p)
		}
	}
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, provider string) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", provider, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, provider)
	m.notify(provider)
	return nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.blobs))
	for p := range m.blobs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// Lock implements Store for the goroutines of this process.
func (m *Memory) Lock(ctx context.Context, provider string) (func(), error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	return m.wait.acquire(ctx, provider, m.locks.get(provider), "")
}

// Location implements Store.
func (m *Memory) Location(provider string) string { return "memory:" + provider }
