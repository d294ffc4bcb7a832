package quotawatch

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// Store keeps the latest observation per provider, account and window
// across processes. *ledger.DB satisfies it.
type Store interface {
	SaveQuota(ctx context.Context, s quota.Snapshot) error
	LatestQuota(ctx context.Context) ([]quota.Snapshot, error)
}

// Options configure a Watcher. A nil Store keeps observations in memory
// only (the demo, tests).
type Options struct {
	Store  Store
	Clock  clockwork.Clock
	Logger *slog.Logger
}

// Watcher is the merged view of every account's quota. It is safe for
// concurrent use.
type Watcher struct {
	store Store
	clock clockwork.Clock
	log   *slog.Logger

	mu     sync.Mutex // guards latest, loaded, client, polls; orders Observe's read-merge-save
	latest map[key]quota.Snapshot
	saved  map[key]time.Time // when each account was last written
	loaded bool              // latest was filled from the store once
	client *http.Client
	polls  pollState // nil until EnablePolling
}

type key struct{ provider, account string }

func keyOf(s quota.Snapshot) key { return key{s.Provider, s.Account} }

// New returns a Watcher over opts.Store.
func New(opts Options) *Watcher {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{store: opts.Store, clock: opts.Clock, log: opts.Logger, latest: map[key]quota.Snapshot{}, saved: map[key]time.Time{}}
}

// SaveEvery is how often an unchanged reading is written again, so that
// its age in the store stays fresh; a changed one is written at once.
const SaveEvery = 30 * time.Second

// sameReading reports whether two snapshots say the same thing, whenever
// they were observed.
func sameReading(a, b quota.Snapshot) bool {
	if a.Status != b.Status || a.Binding != b.Binding || len(a.Windows) != len(b.Windows) {
		return false
	}
	for i, w := range a.Windows {
		v := b.Windows[i]
		// A reset given as seconds-from-now moves by a second or so
		// between answers without meaning anything.
		drift := w.ResetsAt.Sub(v.ResetsAt).Abs()
		if w.Name != v.Name || w.UsedPercent != v.UsedPercent || w.Status != v.Status || drift > 5*time.Second ||
			w.UsageUnknown != v.UsageUnknown || w.Source != v.Source {
			return false
		}
	}
	return true
}

// Observe lays a new observation over what is known of its account and
// keeps the result. The store receives the observation's own windows (so
// each window keeps the age of the answer that carried it) with the merged
// status and binding. A store that fails leaves the memory view updated and
// returns the error, for the caller to log.
func (w *Watcher) Observe(ctx context.Context, s quota.Snapshot) (quota.Snapshot, error) {
	if s.Provider == "" || len(s.Windows) == 0 {
		return s, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.loadLocked(ctx)
	// Merging over the zero snapshot still settles status and binding.
	merged := w.latest[keyOf(s)].Merge(s)
	prev, hadPrev := w.latest[keyOf(s)]
	w.latest[keyOf(s)] = merged
	if w.store == nil {
		return merged, nil
	}
	// Under load every response carries the same numbers: write only
	// what changed, and the unchanged at most every SaveEvery (so other
	// processes see an age that is never much older than the truth).
	now := w.clock.Now()
	if hadPrev && sameReading(prev, merged) && now.Sub(w.saved[keyOf(s)]) < SaveEvery {
		return merged, nil
	}
	w.saved[keyOf(s)] = now
	save := s
	save.Status, save.Binding = merged.Status, merged.Binding
	if err := w.store.SaveQuota(ctx, save); err != nil {
		return merged, fmt.Errorf("keep quota of %s: %w", s.Provider, err)
	}
	return merged, nil
}

// loadLocked fills the memory view from the store the first time it is
// needed, so a restarted serve merges over what it knew before.
func (w *Watcher) loadLocked(ctx context.Context) {
	if w.loaded || w.store == nil {
		w.loaded = true
		return
	}
	all, err := w.store.LatestQuota(ctx)
	if err != nil {
		w.log.Warn("quota: read the latest observations", "err", err)
		return // try again next time
	}
	w.loaded = true
	for _, s := range all {
		w.latest[keyOf(s)] = s
	}
}

// Latest is every account's quota as it stands now, ordered by provider
// then account: the store's view (which other processes write too) merged
// with this process's own, windows whose reset has passed shown empty. A
// store that cannot be read falls back to the memory view and says so in
// the error.
func (w *Watcher) Latest(ctx context.Context) ([]quota.Snapshot, error) {
	var stored []quota.Snapshot
	var err error
	if w.store != nil {
		if stored, err = w.store.LatestQuota(ctx); err != nil {
			err = fmt.Errorf("read the latest quota: %w", err)
		}
	}
	w.mu.Lock()
	view := make(map[key]quota.Snapshot, len(w.latest)+len(stored))
	for k, s := range w.latest {
		view[k] = s
	}
	w.mu.Unlock()
	for _, s := range stored {
		if mine, ok := view[keyOf(s)]; ok {
			view[keyOf(s)] = s.Merge(mine)
		} else {
			view[keyOf(s)] = s
		}
	}
	now := w.clock.Now()
	out := make([]quota.Snapshot, 0, len(view))
	for _, s := range view {
		s = s.At(now)
		s.Windows = append([]quota.Window(nil), s.Windows...)
		s.SortWindows()
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Account < out[j].Account
	})
	return out, err
}
