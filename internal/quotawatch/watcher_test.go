package quotawatch

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)

// memStore is a Store in memory that fails on demand (the full disk).
type memStore struct {
	mu    sync.Mutex // guards all
	snaps map[key]quota.Snapshot
	fail  error
	saves int
}

func (m *memStore) SaveQuota(_ context.Context, s quota.Snapshot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.saves++
	if m.snaps == nil {
		m.snaps = map[key]quota.Snapshot{}
	}
	prev, ok := m.snaps[keyOf(s)]
	if ok {
		s = prev.Merge(s)
	}
	m.snaps[keyOf(s)] = s
	return nil
}

func (m *memStore) LatestQuota(context.Context) ([]quota.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	var out []quota.Snapshot
	for _, s := range m.snaps {
		out = append(out, s)
	}
	return out, nil
}

func snap(provider string, at time.Time, src quota.Source, ws ...quota.Window) quota.Snapshot {
	for i := range ws {
		ws[i].Source, ws[i].ObservedAt = src, at
		if ws[i].Status == "" {
			ws[i].Status = quota.Allowed
		}
	}
	return quota.Snapshot{Provider: provider, Status: quota.Allowed, Source: src, ObservedAt: at, Windows: ws}
}

func TestObserveMergesAndPersists(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	clock := clockwork.NewFakeClockAt(t0)
	w := New(Options{Store: st, Clock: clock})
	if _, err := w.Observe(ctx, snap("claude", t0, quota.FromEndpoint,
		quota.Window{Name: "5h", UsedPercent: 10, ResetsAt: t0.Add(time.Hour), WindowMinutes: 300},
		quota.Window{Name: "7d_opus", UsedPercent: 95, Status: quota.Warning, ResetsAt: t0.Add(72 * time.Hour), WindowMinutes: 10080})); err != nil {
		t.Fatal(err)
	}
	// Headers a minute later know only the 5h window.
	merged, err := w.Observe(ctx, snap("claude", t0.Add(time.Minute), quota.FromHeaders,
		quota.Window{Name: "5h", UsedPercent: 20, ResetsAt: t0.Add(time.Hour), WindowMinutes: 300}))
	if err != nil {
		t.Fatal(err)
	}
	if merged.Binding != "7d_opus" || merged.Status != quota.Warning {
		t.Errorf("merged binding %q status %s, want 7d_opus warning (the endpoint's window still counts)", merged.Binding, merged.Status)
	}
	// A second process sees the same through the store alone.
	other := New(Options{Store: st, Clock: clock})
	all, err := other.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("Latest = %d snapshots", len(all))
	}
	got := all[0]
	if w5, _ := got.Window("5h"); w5.UsedPercent != 20 || w5.Source != quota.FromHeaders {
		t.Errorf("5h = %+v", w5)
	}
	if wo, _ := got.Window("7d_opus"); wo.Source != quota.FromEndpoint || !wo.ObservedAt.Equal(t0) {
		t.Errorf("7d_opus = %+v, want its own source and age", wo)
	}
	if got.Binding != "7d_opus" || got.Status != quota.Warning {
		t.Errorf("stored binding %q status %s", got.Binding, got.Status)
	}
}

func TestLatestShowsResetWindowsEmpty(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(t0)
	w := New(Options{Clock: clock})
	_, _ = w.Observe(ctx, snap("codex", t0, quota.FromHeaders,
		quota.Window{Name: "primary", UsedPercent: 100, Status: quota.Rejected, ResetsAt: t0.Add(10 * time.Minute), WindowMinutes: 300}))
	all, _ := w.Latest(ctx)
	if all[0].Status != quota.Rejected {
		t.Fatalf("before the reset: %s", all[0].Status)
	}
	clock.Advance(10 * time.Minute)
	all, _ = w.Latest(ctx)
	if all[0].Status != quota.Allowed || all[0].Windows[0].UsedPercent != 0 {
		t.Errorf("after the reset: %+v", all[0])
	}
}

func TestStoreFailureKeepsTheMemoryView(t *testing.T) {
	ctx := context.Background()
	full := errors.New("disk full")
	st := &memStore{fail: full}
	w := New(Options{Store: st, Clock: clockwork.NewFakeClockAt(t0)})
	_, err := w.Observe(ctx, snap("claude", t0, quota.FromHeaders, quota.Window{Name: "5h", UsedPercent: 42}))
	if !errors.Is(err, full) {
		t.Fatalf("Observe error = %v, want the store's", err)
	}
	all, err := w.Latest(ctx)
	if !errors.Is(err, full) || len(all) != 1 || all[0].Windows[0].UsedPercent != 42 {
		t.Errorf("Latest = %+v, %v; want the memory view and the store's error", all, err)
	}
	// Once the disk has room again, the next observation lands.
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	if _, err := w.Observe(ctx, snap("claude", t0.Add(time.Second), quota.FromHeaders, quota.Window{Name: "5h", UsedPercent: 43})); err != nil {
		t.Fatal(err)
	}
	if st.saves != 1 {
		t.Errorf("saves = %d", st.saves)
	}
}

func TestObserveIgnoresEmpty(t *testing.T) {
	st := &memStore{}
	w := New(Options{Store: st})
	_, _ = w.Observe(context.Background(), quota.Snapshot{Provider: "claude"})
	_, _ = w.Observe(context.Background(), quota.Snapshot{Windows: []quota.Window{{Name: "5h"}}})
	if st.saves != 0 {
		t.Errorf("saved %d empty observations", st.saves)
	}
}

// Two processes (a serve and a CLI) on one ledger file see each other's
// observations.
func TestTwoProcessesShareTheLedger(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.db")
	open := func() *ledger.DB {
		d, err := ledger.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		return d
	}
	clock := clockwork.NewFakeClockAt(t0)
	serve := New(Options{Store: open(), Clock: clock})
	cli := New(Options{Store: open(), Clock: clock})
	if _, err := serve.Observe(ctx, snap("copilot", t0, quota.FromHeaders,
		quota.Window{Name: "premium_interactions", UsedPercent: 11.3, ResetsAt: t0.Add(30 * 24 * time.Hour), WindowMinutes: 43200})); err != nil {
		t.Fatal(err)
	}
	all, err := cli.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Provider != "copilot" || all[0].Windows[0].UsedPercent != 11.3 || all[0].Binding != "premium_interactions" {
		t.Errorf("the other process sees %+v", all)
	}
}

// Under load every response repeats the same reading: it is written once,
// again after SaveEvery, and at once when it changes.
func TestObserveWritesOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	clock := clockwork.NewFakeClockAt(t0)
	w := New(Options{Store: st, Clock: clock})
	obs := func(used float64, reset time.Time) {
		t.Helper()
		if _, err := w.Observe(ctx, snap("codex", clock.Now(), quota.FromHeaders, quota.Window{Name: "primary", UsedPercent: used, ResetsAt: reset})); err != nil {
			t.Fatal(err)
		}
	}
	reset := t0.Add(time.Hour)
	for range 100 {
		obs(12, reset)
		clock.Advance(100 * time.Millisecond)
	}
	if st.saves != 1 {
		t.Fatalf("100 identical readings in 10s: %d writes, want 1", st.saves)
	}
	obs(12, reset.Add(time.Second)) // reset-after-seconds jitter
	if st.saves != 1 {
		t.Errorf("a reset 1s later counted as a change")
	}
	obs(13, reset)
	if st.saves != 2 {
		t.Errorf("a changed reading was not written at once (%d writes)", st.saves)
	}
	clock.Advance(SaveEvery)
	obs(13, reset)
	if st.saves != 3 {
		t.Errorf("an unchanged reading was not refreshed after %s (%d writes)", SaveEvery, st.saves)
	}
}
