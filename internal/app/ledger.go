package app

import (
	"context"
	"fmt"

	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// LedgerStatus is the "ledger" object of GET /status.
type LedgerStatus struct {
	Enabled bool   `json:"enabled"`
	Path    string `json:"path,omitempty"`
	ledger.WriterStats
}

// usageLedger is the open ledger and its writer, while serve or the
// dashboard runs.
type usageLedger struct {
	db     *ledger.DB
	writer *ledger.Writer
	owned  bool // opened by StartLedger, so closed by its release
}

// StartLedger opens the usage ledger at Options.LedgerPath (or uses the
// open one Options.Ledger handed in) and records every proxied request into
// it until release is called; release writes what is queued (bounded by
// its ctx) and closes the file. With [ledger] enabled = false it does
// nothing, as it does without a ledger at all. An error leaves the proxy serving without a ledger; the caller
// says so.
func (a *App) StartLedger(ctx context.Context) (release func(context.Context) error, err error) {
	none := func(context.Context) error { return nil }
	if !a.cfg.Ledger.Enabled {
		return none, nil
	}
	l := &usageLedger{db: a.ledgerDB}
	if l.db == nil {
		if a.ledgerPath == "" {
			return none, nil
		}
		db, err := ledger.Open(ctx, a.ledgerPath)
		if err != nil {
			return none, fmt.Errorf("%w; requests are served but not recorded", err)
		}
		l.db, l.owned = db, true
	}
	l.writer = ledger.NewWriter(l.db, ledger.WriterOptions{
		Retention: a.cfg.Ledger.Retention.Duration,
		Linger:    ledger.DefaultLinger,
		Idle:      ledger.DefaultIdle,
		Clock:     a.clock,
		Logger:    a.log,
	})
	a.ledger.Store(l)
	return func(ctx context.Context) error {
		a.ledger.CompareAndSwap(l, nil)
		err := l.writer.Close(ctx)
		if l.owned {
			if cerr := l.db.Close(); err == nil {
				err = cerr
			}
		}
		return err
	}, nil
}

// Ledger is the open usage ledger, nil when none is (not started, disabled,
// or it failed to open).
func (a *App) Ledger() *ledger.DB {
	if l := a.ledger.Load(); l != nil {
		return l.db
	}
	return nil
}

// LedgerStatus says whether requests are being recorded, and how many were
// written, dropped or lost.
func (a *App) LedgerStatus() LedgerStatus {
	l := a.ledger.Load()
	if l == nil {
		return LedgerStatus{}
	}
	return LedgerStatus{Enabled: true, Path: l.db.Path(), WriterStats: l.writer.Stats()}
}

// record is the proxy's Record hook: it queues the request's record, never
// waiting for the disk.
func (a *App) record(ev proxy.Event) {
	if l := a.ledger.Load(); l != nil {
		l.writer.Add(LedgerRecord(ev))
	}
}

// LedgerRecord is the usage ledger's record of a proxy Event.
func LedgerRecord(ev proxy.Event) ledger.Record {
	return ledger.Record{
		Time:      ev.Time,
		Provider:  ev.Provider,
		Account:   ev.Account,
		Method:    ev.Method,
		Path:      ev.Path,
		Model:     ev.Model,
		Status:    ev.Status,
		Duration:  ev.Duration,
		TTFB:      ev.TTFB,
		BytesIn:   ev.BytesIn,
		BytesOut:  ev.Bytes,
		Retried:   ev.Retried,
		ErrorKind: ev.ErrorKind,
		UsageSeen: ev.UsageSeen,
		Tokens:    ev.Usage,
		Detail:    detailOf(ev.Capture),
	}
}

func detailOf(c *proxy.Capture) *ledger.Detail {
	if c == nil {
		return nil
	}
	return &ledger.Detail{RequestHeader: c.RequestHeader, RequestBody: c.RequestBody,
		ResponseHeader: c.ResponseHeader, ResponseBody: c.ResponseBody}
}

// ledgerStatus feeds the proxy's /status.
func (a *App) ledgerStatus() any { return a.LedgerStatus() }
