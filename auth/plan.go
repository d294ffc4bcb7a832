package auth

// plan.go is the scheduler's state kept per Manager: its wake-up, called
// whenever the credentials change, and the next refresh and retry it
// plans, which Status reports.

import (
	"time"
)

// schedule is what a watching Scheduler keeps in a Manager. It is apart from
// the lifecycle because it outlives one: a login, a logout or another
// process's change starts a new lifecycle, but the scheduler still watches.
type schedule struct {
	notify      func() // the scheduler's wake-up; nil when none watches
	nextRefresh time.Time
	nextAttempt time.Time
}

// retried forgets the planned retry: new credentials have not failed yet.
// The planned refresh stays until the scheduler plans again.
func (s *schedule) retried() { s.nextAttempt = time.Time{} }

// unplanned forgets every plan: nothing is stored to refresh.
func (s *schedule) unplanned() { s.nextRefresh, s.nextAttempt = time.Time{}, time.Time{} }

// wake tells the watching scheduler the credentials changed.
func (m *Manager) wake() {
	m.mu.Lock()
	notify := m.sched.notify
	m.mu.Unlock()
	if notify != nil {
		notify()
	}
}

// watch installs (or, with nil, removes) the scheduler's wake-up.
func (m *Manager) watch(notify func()) {
	m.mu.Lock()
	m.sched.notify = notify
	if notify == nil {
		m.sched.unplanned()
	}
	m.mu.Unlock()
}

// plan records the scheduler's intentions for Status.
func (m *Manager) plan(nextRefresh, nextAttempt time.Time) {
	m.mu.Lock()
	m.sched.nextRefresh, m.sched.nextAttempt = nextRefresh, nextAttempt
	m.mu.Unlock()
}
