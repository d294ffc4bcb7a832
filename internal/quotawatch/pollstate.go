package quotawatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// pollRecord is what polling remembers of one account's usage endpoint.
// It is shared by every process (a `quota` run is a process of its own), so
// the once-per-5-minutes rule and a server's Retry-After hold across them.
type pollRecord struct {
	// LastAttempt is when the endpoint was last asked (or claimed by a
	// process about to ask).
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// NotBefore is the server's Retry-After.
	NotBefore time.Time `json:"not_before,omitzero"`
	// TrafficOnly is set when the endpoint will not answer this login
	// (a missing scope): the quota then comes from traffic only.
	TrafficOnly bool `json:"traffic_only,omitempty"`
	// Reason says why, once, for the notice.
	Reason string `json:"reason,omitempty"`
}

// same reports whether r and o say the same.
func (r pollRecord) same(o pollRecord) bool {
	return r.LastAttempt.Equal(o.LastAttempt) && r.NotBefore.Equal(o.NotBefore) && r.TrafficOnly == o.TrafficOnly && r.Reason == o.Reason
}

// pollState keeps the records by "provider/account".
type pollState interface {
	// update runs fn on the record of key under the state's lock and
	// keeps what fn leaves.
	update(ctx context.Context, key string, fn func(r *pollRecord)) (pollRecord, error)
}

// memoryPollState is a pollState for one process (tests, the demo).
type memoryPollState struct {
	mu      sync.Mutex // guards records
	records map[string]pollRecord
}

func (m *memoryPollState) update(_ context.Context, key string, fn func(r *pollRecord)) (pollRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.records == nil {
		m.records = map[string]pollRecord{}
	}
	r := m.records[key]
	fn(&r)
	m.records[key] = r
	return r, nil
}

// filePollState is a pollState in a small JSON file beside the ledger,
// 0600, replaced atomically under a cross-process lock.
type filePollState struct {
	path string
}

// PollStateFile is the file, beside the usage ledger, where polling keeps
// its per-account schedule.
const PollStateFile = "quota-poll.json"

func (f filePollState) update(ctx context.Context, key string, fn func(r *pollRecord)) (pollRecord, error) {
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return pollRecord{}, fmt.Errorf("quota poll state: %w", err)
	}
	lock := flock.New(f.path+".lock", flock.SetFlag(os.O_CREATE|os.O_RDONLY|syscall.O_NOFOLLOW), flock.SetPermissions(0o600))
	ok, err := lock.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil || !ok {
		return pollRecord{}, fmt.Errorf("quota poll state: lock %s: %w", f.path, errors.Join(err, ctx.Err()))
	}
	defer lock.Unlock()
	records := map[string]pollRecord{}
	b, err := os.ReadFile(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return pollRecord{}, fmt.Errorf("quota poll state: %w", err)
	default:
		// A damaged file only loses the schedule: start over.
		_ = json.Unmarshal(b, &records)
	}
	was, had := records[key]
	r := was
	fn(&r)
	if had && r.same(was) {
		return r, nil // nothing claimed or learnt: the file stays as it is
	}
	records[key] = r
	out, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		return pollRecord{}, fmt.Errorf("quota poll state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".quota-poll-*")
	if err != nil {
		return pollRecord{}, fmt.Errorf("quota poll state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return pollRecord{}, fmt.Errorf("quota poll state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return pollRecord{}, fmt.Errorf("quota poll state: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return pollRecord{}, fmt.Errorf("quota poll state: %w", err)
	}
	return r, nil
}
