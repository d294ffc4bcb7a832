package store

import (
	"context"
	"fmt"
	"sync"
	"syscall"
)

// Faulty wraps a Store and fails writes on demand, as a full disk or a
// read-only remount does, for fault tests of everything built on a store.
// Loads, locks and watching pass through untouched.
type Faulty struct {
	Store
	mu       sync.Mutex // guards full, failNext, saves, refused
	full     bool
	failNext int
	saves    int // writes that reached the wrapped store
	refused  int // writes refused by a fault
}

// NewFaulty wraps s; it fails nothing until told to.
func NewFaulty(s Store) *Faulty { return &Faulty{Store: s} }

// SetFull makes every Save, Reserve and Commit fail with ENOSPC until
// SetFull(false).
func (f *Faulty) SetFull(full bool) {
	f.mu.Lock()
	f.full = full
	f.mu.Unlock()
}

// FailSaves makes the next n writes fail with ENOSPC.
func (f *Faulty) FailSaves(n int) {
	f.mu.Lock()
	f.failNext = n
	f.mu.Unlock()
}

// Writes reports how many writes reached the wrapped store and how many a
// fault refused.
func (f *Faulty) Writes() (saved, refused int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.saves, f.refused
}

// fault reports the injected error for op, if one applies now.
func (f *Faulty) fault(op, provider string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.full:
	case f.failNext > 0:
		f.failNext--
	default:
		return nil
	}
	f.refused++
	return fmt.Errorf("%s %s: %w", op, provider, syscall.ENOSPC)
}

func (f *Faulty) saved() {
	f.mu.Lock()
	f.saves++
	f.mu.Unlock()
}

// Save implements Store.
func (f *Faulty) Save(ctx context.Context, provider string, blob []byte) error {
	if err := f.fault("save", provider); err != nil {
		return err
	}
	if err := f.Store.Save(ctx, provider, blob); err != nil {
		return err
	}
	f.saved()
	return nil
}

// Reserve implements Reserver: it fails while the disk is "full", and
// otherwise holds room in the wrapped store when that can reserve.
func (f *Faulty) Reserve(ctx context.Context, provider string) (Reservation, error) {
	if err := f.fault("reserve", provider); err != nil {
		return nil, err
	}
	r := &faultyReservation{f: f, provider: provider}
	if res, ok := f.Store.(Reserver); ok {
		inner, err := res.Reserve(ctx, provider)
		if err != nil {
			return nil, err
		}
		r.inner = inner
	}
	return r, nil
}

// Watch implements Watcher when the wrapped store does.
func (f *Faulty) Watch(ctx context.Context, changed func(provider string)) error {
	w, ok := f.Store.(Watcher)
	if !ok {
		return fmt.Errorf("watch credentials: %T cannot watch", f.Store)
	}
	return w.Watch(ctx, changed)
}

// faultyReservation holds room the way a real disk does: once reserved, a
// commit succeeds even if the disk filled up meanwhile.
type faultyReservation struct {
	f        *Faulty
	provider string
	inner    Reservation // nil: the wrapped store cannot reserve
}

func (r *faultyReservation) Commit(ctx context.Context, blob []byte) error {
	var err error
	if r.inner != nil {
		err = r.inner.Commit(ctx, blob)
	} else {
		err = r.f.Store.Save(ctx, r.provider, blob)
	}
	if err == nil {
		r.f.saved()
	}
	return err
}

func (r *faultyReservation) Release() {
	if r.inner != nil {
		r.inner.Release()
	}
}
