package store

import (
	"path/filepath"

	"github.com/gofrs/flock"
)

// holdExt names the file a process locks while it keeps credentials newer
// than the stored record in memory.
const holdExt = ".hold"

// Holder is a store shared between processes that can say, without writing
// anything, that one process keeps newer credentials in memory than the
// record it stores (because the disk refused them). Another process must
// then not refresh from the stored record: its refresh token is spent, and
// a server that sees it again may revoke the whole grant.
type Holder interface {
	// Hold marks provider's stored record as superseded by credentials this
	// process keeps; release ends the mark. It needs no disk space, since a
	// full disk is when it is used, and it ends with the process.
	Hold(provider string) (release func())
	// HeldElsewhere reports whether another process holds such a mark on
	// provider's record.
	HeldElsewhere(provider string) bool
}

func (f *File) holdPath(provider string) string {
	return filepath.Join(f.dir, provider+holdExt)
}

// Hold implements Holder with a shared flock on <provider>.hold, which the
// kernel drops when the process ends, however it ends. Holds never exclude
// each other; taking one waits only for a HeldElsewhere probe, which holds
// its exclusive lock for a moment. Best effort: a lock that cannot be taken
// marks nothing.
func (f *File) Hold(provider string) func() {
	if checkProvider(provider) != nil {
		return func() {}
	}
	fl := flock.New(f.holdPath(provider), flock.SetPermissions(0o600))
	if err := fl.RLock(); err != nil {
		return func() {}
	}
	return func() { _ = fl.Unlock() }
}

// HeldElsewhere implements Holder: the hold file is locked by another
// process (or another handle of this one). Two probes at once may each see
// the other's lock: a moment's false "held", which callers retry.
func (f *File) HeldElsewhere(provider string) bool {
	if checkProvider(provider) != nil {
		return false
	}
	fl := flock.New(f.holdPath(provider), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return false
	}
	if ok {
		_ = fl.Unlock()
		return false
	}
	return true
}

// Hold implements Holder for the wrapped store; a store that is no Holder
// marks nothing.
func (f *Faulty) Hold(provider string) func() {
	if h, ok := f.Store.(Holder); ok {
		return h.Hold(provider)
	}
	return func() {}
}

// HeldElsewhere implements Holder for the wrapped store.
func (f *Faulty) HeldElsewhere(provider string) bool {
	if h, ok := f.Store.(Holder); ok {
		return h.HeldElsewhere(provider)
	}
	return false
}
