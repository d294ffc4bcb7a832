package auth

// pending.go keeps a refresh's result when the store cannot take it (a full
// disk): the new tokens are served from memory, marked in the store so no
// other process spends the old refresh token, and written as soon as the
// store accepts them.

import (
	"context"
	"errors"
	"fmt"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// UnsavedError says a refresh succeeded but its new tokens could not be
// written. The old refresh token is spent, so the new ones exist only in
// this process's memory.
type UnsavedError struct {
	Provider string
	Location string
	Err      error
}

func (e *UnsavedError) Error() string {
	return fmt.Sprintf("refreshed %s, but the new tokens could not be written to %s: %v; the old refresh token is spent and the new one is lost when this command exits, so %s needs a new login once the current access token expires; free the disk, then run: ccproxy-tui auth login %s",
		e.Provider, e.Location, e.Err, e.Provider, e.Provider)
}

func (e *UnsavedError) Unwrap() error { return e.Err }

// KeepUnsaved says whether this process keeps running (serve, the
// dashboard), so that it may rotate a token the store cannot take yet and
// hold the result until the store accepts it. Off, a refresh whose
// successor cannot be written is not attempted while the current token
// still works.
func (m *Manager) KeepUnsaved(on bool) { m.resident.Store(on) }

// HasUnsaved reports whether refreshed credentials are waiting in memory
// for the store to accept them.
func (m *Manager) HasUnsaved() bool { return m.pendingCreds() != nil }

func (m *Manager) pendingCreds() *Credentials {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.life.pending
}

// load is read with the pending credentials put in place of the record
// they descend from.
func (m *Manager) load(ctx context.Context) (Credentials, error) {
	c, err := m.read(ctx)
	return m.adopt(c, err)
}

// adopt returns the pending credentials instead of what the store holds
// (c, err) while the store still holds the record they descend from.
func (m *Manager) adopt(c Credentials, err error) (Credentials, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life.pending == nil {
		return c, err
	}
	if err != nil && !errors.Is(err, ErrLoginRequired) {
		return *m.life.pending, nil // the store is unreadable now; ours is newest
	}
	if err == nil && c.RefreshToken == m.life.base {
		return *m.life.pending, nil
	}
	// A login, a logout or another process's refresh replaced the record
	// pending descends from: pending is obsolete.
	m.dropPendingLocked()
	return c, err
}

// persist writes c into the reserved room, or saves it when there is none.
func (m *Manager) persist(ctx context.Context, room store.Reservation, c Credentials) error {
	blob, err := c.Marshal()
	if err != nil {
		return err
	}
	if room != nil {
		return room.Commit(ctx, blob)
	}
	return m.store.Save(ctx, m.provider, blob)
}

// flushPending writes the pending credentials when cur is them; the store
// lock is held.
func (m *Manager) flushPending(ctx context.Context, cur Credentials) {
	p := m.pendingCreds()
	if p == nil || p.RefreshToken != cur.RefreshToken {
		return
	}
	m.wmu.Lock()
	err := m.persist(ctx, nil, *p)
	m.wmu.Unlock()
	if err != nil {
		return
	}
	m.mu.Lock()
	if m.life.pending == p {
		m.dropPendingLocked()
		if m.life.failures == 0 {
			m.life.lastErr = nil
		}
	}
	m.mu.Unlock()
	m.publish(Event{Kind: RefreshSucceeded, Message: "the refreshed tokens kept in memory are written to the store now",
		ExpiresAt: p.ExpiresAt, After: MaskRefresh(p.RefreshToken)})
}

// keepPending remembers next, which the store refused, as the newest
// credentials; base is the refresh token of the record still stored.
func (m *Manager) keepPending(next Credentials, base string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life.pending == nil {
		m.life.base = base
		if h, ok := m.store.(store.Holder); ok {
			m.life.unhold = h.Hold(m.provider)
		}
	}
	m.life.pending = &next
	m.life.lastErr = err
}

// dropPendingLocked forgets the pending credentials and ends their mark;
// m.mu is held.
func (m *Manager) dropPendingLocked() {
	m.life.pending, m.life.base = nil, ""
	if m.life.unhold != nil {
		m.life.unhold()
		m.life.unhold = nil
	}
}

// heldElsewhere reports whether another process keeps newer credentials
// than the stored record in memory, so the stored refresh token is spent.
func (m *Manager) heldElsewhere() bool {
	h, ok := m.store.(store.Holder)
	return ok && m.pendingCreds() == nil && h.HeldElsewhere(m.provider)
}
