package app

import (
	"context"
	"net/http"
	"sync"

	"github.com/ccproxy-tui/ccproxy-tui/internal/quotawatch"
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
		case q := <-a.quotas:
			last = a.observeQuota(ctx, q, last)
		default:
			return
		}
	}
}

// QuotaPoll is what PollQuota did for one provider: a notice to show once
// (the quota comes from traffic only), or the error that kept the endpoint
// from answering; both empty when it answered or was not due.
type QuotaPoll struct {
	Provider string
	Notice   string
	Err      error
}

// PollQuota asks the usage endpoint of each named provider (all when none)
// that has one, is logged in and has polling on, when the rules allow:
// nothing passive fresher than 10 minutes, at most once per 5 minutes per
// account, the server's Retry-After honoured, a login without the needed
// scope reported once and then left alone. The dashboard calls it while it
// is open, `quota` once per run. Endpoints are asked in parallel.
func (a *App) PollQuota(ctx context.Context, names ...string) []QuotaPoll {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var targets []quotawatch.Target
	for _, p := range a.registry.All() {
		if (len(want) > 0 && !want[p.Name]) || !p.Usage.Polls() {
			continue
		}
		for _, m := range a.sets[p.Name].serving() {
			c, err := m.Credentials(ctx)
			if err != nil || c.AccessToken == "" {
				continue // not logged in: nothing to ask with
			}
			p, m := p, m
			targets = append(targets, quotawatch.Target{
				Provider:     p.Name,
				Account:      m.Account(),
				MissingScope: p.Usage.MissingScope(c),
				Scope:        p.Usage.Scope,
				Request: func(ctx context.Context) (*http.Request, error) {
					c, err := m.Credentials(ctx)
					if err != nil {
						return nil, err
					}
					return p.UsageRequest(ctx, c)
				},
			})
		}
	}
	out := make([]QuotaPoll, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := a.quota.Poll(ctx, t)
			out[i] = QuotaPoll{Provider: t.Provider, Notice: res.Notice, Err: err}
			if err != nil {
				a.log.Warn("quota: usage endpoint", "provider", t.Provider, "err", err)
			}
		}()
	}
	wg.Wait()
	return out
}
