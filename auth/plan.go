package auth

// plan.go is the scheduler's state kept per Manager: its wake-up, called
// whenever the credentials change, and the next refresh and retry it
// plans, which Status reports.

import (
	"time"
)

// wake tells the watching scheduler the credentials changed.
func (m *Manager) wake() {
	m.mu.Lock()
	notify := m.life.notify
	m.mu.Unlock()
	if notify != nil {
		notify()
	}
}

// watch installs (or, with nil, removes) the scheduler's wake-up.
func (m *Manager) watch(notify func()) {
	m.mu.Lock()
	m.life.notify = notify
	if notify == nil {
		m.life.nextRefresh, m.life.nextAttempt = time.Time{}, time.Time{}
	}
	m.mu.Unlock()
}

// plan records the scheduler's intentions for Status.
func (m *Manager) plan(nextRefresh, nextAttempt time.Time) {
	m.mu.Lock()
	m.life.nextRefresh, m.life.nextAttempt = nextRefresh, nextAttempt
	m.mu.Unlock()
}
