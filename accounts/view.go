package accounts

import (
	"context"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// View is st as one account's auth.Manager needs it: the provider's key
// stands for the account's record, so the Manager's whole lifecycle
// (locking, re-reading, reserving room, saving) works on that record
// unchanged. Other keys pass through.
func View(st store.Store, provider, account string) store.Store {
	v := view{st: st, provider: provider, key: store.AccountKey(provider, account)}
	if r, ok := st.(store.Reserver); ok {
		return reservingView{view: v, r: r}
	}
	return v
}

type view struct {
	st       store.Store
	provider string
	key      string
}

func (v view) name(k string) string {
	if k == v.provider {
		return v.key
	}
	return k
}

func (v view) Load(ctx context.Context, k string) ([]byte, error) { return v.st.Load(ctx, v.name(k)) }
func (v view) Save(ctx context.Context, k string, blob []byte) error {
	return v.st.Save(ctx, v.name(k), blob)
}
func (v view) Delete(ctx context.Context, k string) error         { return v.st.Delete(ctx, v.name(k)) }
func (v view) List(ctx context.Context) ([]string, error)         { return v.st.List(ctx) }
func (v view) Lock(ctx context.Context, k string) (func(), error) { return v.st.Lock(ctx, v.name(k)) }
func (v view) Location(k string) string                           { return v.st.Location(v.name(k)) }

// reservingView keeps the backend's Reserver visible through the view.
type reservingView struct {
	view
	r store.Reserver
}

func (v reservingView) Reserve(ctx context.Context, k string) (store.Reservation, error) {
	return v.r.Reserve(ctx, v.name(k))
}

// Hold passes the backend's store.Holder through the view; a backend
// without one marks nothing.
func (v view) Hold(k string) func() {
	if h, ok := v.st.(store.Holder); ok {
		return h.Hold(v.name(k))
	}
	return func() {}
}

// HeldElsewhere passes the backend's store.Holder through the view.
func (v view) HeldElsewhere(k string) bool {
	if h, ok := v.st.(store.Holder); ok {
		return h.HeldElsewhere(v.name(k))
	}
	return false
}
