package auth

import (
	"context"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/store"
	"github.com/jonboulle/clockwork"
)

// TestAccountsOfOneProviderStayApart: two accounts of a provider are two
// entries in the scheduler, and each one's events and status name it.
func TestAccountsOfOneProviderStayApart(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC))
	bus := NewBus()
	events, cancel := bus.Subscribe(8)
	defer cancel()
	s := NewScheduler(SchedulerOptions{Clock: clk})
	var ms []*Manager
	for _, a := range []string{"work", "home"} {
		m := NewManager(ManagerOptions{Provider: "claude", Account: a, Refresher: &stubRefresher{clock: clk, life: time.Hour},
			Store: store.NewMemory(), Clock: clk, Bus: bus})
		s.Add(m)
		ms = append(ms, m)
	}
	s.mu.Lock()
	n := len(s.entries)
	s.mu.Unlock()
	if n != 2 {
		t.Fatalf("scheduler holds %d entries for two accounts, want 2", n)
	}
	s.Remove("claude@work")
	s.mu.Lock()
	_, home := s.entries["claude@home"]
	n = len(s.entries)
	s.mu.Unlock()
	if n != 1 || !home {
		t.Fatalf("Remove(claude@work) left %d entries (home kept: %v)", n, home)
	}

	if err := ms[1].Save(context.Background(), Credentials{AccessToken: "acc-home-0123456789", ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e := <-events
	if e.Kind != LoginSucceeded || e.Provider != "claude" || e.Account != "home" {
		t.Errorf("event = %s %s@%s, want a login of claude@home", e.Kind, e.Provider, e.Account)
	}
	if st := ms[1].Status(context.Background()); st.Account != "home" || !st.Authenticated {
		t.Errorf("status = %+v, want claude@home logged in", st)
	}
}
