package app

import (
	"context"
	"sync"
)

// Background is what serve and the dashboard keep running while they are
// open, started in one place so both start it alike: the usage ledger's
// recording and the refresh loop (Run).
type Background struct {
	cancel  context.CancelFunc
	done    chan struct{}
	release func(context.Context) error
	once    sync.Once // guards the release
	err     error
}

// StartBackground starts the usage ledger's recording, then the refresh
// loop. A ledger that cannot open is returned as ledgerErr with the loop
// running anyway (requests are served but not recorded; the caller says
// so). End it with StopLoop and Close.
func (a *App) StartBackground(ctx context.Context) (b *Background, ledgerErr error) {
	release, ledgerErr := a.StartLedger(ctx)
	ctx, cancel := context.WithCancel(ctx)
	b = &Background{cancel: cancel, done: make(chan struct{}), release: release}
	go func() {
		defer close(b.done)
		a.Run(ctx)
	}()
	return b, ledgerErr
}

// StopLoop ends the refresh loop and waits for it. serve calls it before
// draining the proxy, so no refresh starts while requests finish.
func (b *Background) StopLoop() {
	b.cancel()
	<-b.done
}

// Close stops the loop if it still runs, then writes what the ledger has
// queued (bounded by ctx) and closes it. Call it after the proxy has
// drained, so its last requests are recorded. Later calls return the first
// call's error.
func (b *Background) Close(ctx context.Context) error {
	b.once.Do(func() {
		b.StopLoop()
		b.err = b.release(ctx)
	})
	return b.err
}
