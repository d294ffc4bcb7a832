package app

import (
	"context"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// Quotas is every provider's and account's latest quota, as it stands now:
// what any process sharing the ledger has observed. An error says the
// ledger could not be read; what this process saw itself still comes back.
func (a *App) Quotas(ctx context.Context) ([]quota.Snapshot, error) { return a.quota.Latest(ctx) }

// ObserveQuota keeps an observation made outside the proxy (a usage
// endpoint's answer) and returns the merged view of its account.
func (a *App) ObserveQuota(ctx context.Context, s quota.Snapshot) (quota.Snapshot, error) {
	return a.quota.Observe(ctx, s)
}

// observeQuota keeps what a proxied response said. A failing ledger is
// logged when its error changes, not once per response; last is the
// previous error text, and the current one is returned.
func (a *App) observeQuota(ctx context.Context, s quota.Snapshot, last string) string {
	_, err := a.quota.Observe(ctx, s)
	if err == nil {
		if last != "" {
			a.log.Info("quota: the ledger takes observations again")
		}
		return ""
	}
	if err.Error() != last {
		a.log.Warn("quota: observation kept in memory only", "provider", s.Provider, "err", err)
	}
	return err.Error()
}

// quotasForStatus feeds GET /status: whatever is known, even when the
// ledger cannot be read right now.
func (a *App) quotasForStatus(ctx context.Context) []quota.Snapshot {
	list, err := a.quota.Latest(ctx)
	if err != nil {
		a.log.Warn("quota: /status shows this process's observations only", "err", err)
	}
	return list
}

// KeepQueuedQuota keeps the quota of the responses that ended but that Run
// has not read yet. Run calls it when it stops; serve calls it again once
// the proxy has drained, so the last responses' quota outlives the process.
// Call it only while Run is not running.
func (a *App) KeepQueuedQuota(ctx context.Context) {
	last := ""
	for {
		select {
		case r := <-a.requests:
			if r.Quota != nil {
				last = a.observeQuota(ctx, *r.Quota, last)
			}
		default:
			return
		}
	}
}
