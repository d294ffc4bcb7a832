package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/zalando/go-keyring"
)

const (
	// KeyringService is the service name every item is stored under.
	KeyringService = "ccproxy-tui"
	// keyringIndex is the item listing the providers that have an item; the
	// OS keyrings cannot enumerate a service portably. Its leading '_' can
	// never be a provider name.
	keyringIndex = "_index"
	// keyringCallTimeout bounds one call into the secret service: a broken
	// or locked D-Bus service can otherwise hang the caller forever.
	keyringCallTimeout = 5 * time.Second
	keyringFix         = `set backend = "file" under [store] in config.toml`
)

// secretService is the part of go-keyring the backend uses; tests swap in
// a service that hangs.
type secretService interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// goKeyring is the real OS keyring.
type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, pw string) error       { return keyring.Set(service, user, pw) }
func (goKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

// keyringCalls lets one call at a time into go-keyring: its provider is a
// package-level value and its mock is not safe for concurrent use. A hung
// call keeps the slot, so later calls time out too instead of piling up.
var keyringCalls = make(chan struct{}, 1)

// Keyring keeps each provider's blob as one item of service "ccproxy-tui"
// in the OS secret service (Secret Service on Linux, Keychain on macOS,
// Credential Manager on Windows). Every call is bounded by a timeout; the
// cross-process lock is a flock on a file in lockDir, since keyrings have no
// locks of their own.
type Keyring struct {
	svc         secretService
	busy        chan struct{} // one call into svc at a time
	callTimeout time.Duration
	lockDir     string
	wait        lockWaiter
	locks       lockSet
	indexLock   chan struct{} // in-process half of the index lock
	// watching, when set (tests), is called once Watch has started.
	watching func(dir string)
}

// NewKeyring returns the keyring backend, keeping its lock files in lockDir
// (DefaultDir when empty, created 0700). It does not talk to the secret
// service yet: the first call reports ErrUnavailable if there is none.
func NewKeyring(lockDir string) (*Keyring, error) {
	if lockDir == "" {
		lockDir = DefaultDir()
	}
	abs, err := filepath.Abs(lockDir)
	if err != nil {
		return nil, fmt.Errorf("keyring lock folder %s: %w", lockDir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fsError("create keyring lock folder", abs, err)
	}
	if err := os.Chmod(abs, 0o700); err != nil {
		return nil, fsError("restrict keyring lock folder", abs, err)
	}
	return &Keyring{
		svc:         goKeyring{},
		busy:        keyringCalls,
		callTimeout: keyringCallTimeout,
		lockDir:     abs,
		wait:        lockWaiter{clock: clockwork.NewRealClock(), timeout: DefaultLockTimeout},
		indexLock:   make(chan struct{}, 1),
	}, nil
}

// Location implements Store.
func (k *Keyring) Location(provider string) string {
	return "keyring:" + KeyringService + "/" + provider
}

// call runs fn against the secret service, giving up after callTimeout. A
// call that hangs is abandoned (go-keyring cannot be cancelled); it finishes
// on its own goroutine whenever the service answers.
func (k *Keyring) call(ctx context.Context, op string, fn func(secretService) error) error {
	timer := k.wait.clock.NewTimer(k.callTimeout)
	defer timer.Stop()
	// A free slot is taken at once: only a call still queued behind a hung
	// one may give up before it starts.
	select {
	case k.busy <- struct{}{}:
	default:
		select {
		case k.busy <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("keyring %s: %w", op, ctx.Err())
		case <-timer.Chan():
			return k.noAnswer(op)
		}
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-k.busy }()
		done <- fn(k.svc)
	}()
	select {
	case err := <-done:
		return k.mapError(op, err)
	case <-ctx.Done():
		return fmt.Errorf("keyring %s: %w", op, ctx.Err())
	case <-timer.Chan():
		return k.noAnswer(op)
	}
}

func (k *Keyring) noAnswer(op string) error {
	return fmt.Errorf("keyring %s: the secret service did not answer within %s: %w; %s", op, k.callTimeout, ErrUnavailable, keyringFix)
}

// mapError turns go-keyring's answers into the store's typed errors. The
// underlying message names the service or D-Bus, never the secret.
func (k *Keyring) mapError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("keyring %s: %w", op, ErrNotFound)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("keyring %s: blob too big for this keyring: %w", op, ErrInvalid)
	}
	return fmt.Errorf("keyring %s: no usable secret service (%s): %w; %s", op, oneLine(err.Error()), ErrUnavailable, keyringFix)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func (k *Keyring) get(ctx context.Context, op, item string) (string, error) {
	var v string
	err := k.call(ctx, op, func(s secretService) error {
		var err error
		v, err = s.Get(KeyringService, item)
		return err
	})
	return v, err
}

func (k *Keyring) set(ctx context.Context, op, item, v string) error {
	return k.call(ctx, op, func(s secretService) error { return s.Set(KeyringService, item, v) })
}

func (k *Keyring) del(ctx context.Context, op, item string) error {
	err := k.call(ctx, op, func(s secretService) error { return s.Delete(KeyringService, item) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Load implements Store. An item that fails validation is copied to an item
// named <provider>.corrupt-<UTC time>, removed, and reported as *CorruptError.
func (k *Keyring) Load(ctx context.Context, provider string) ([]byte, error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	v, err := k.get(ctx, "load "+provider, provider)
	if err != nil {
		return nil, err
	}
	reason := checkBlob([]byte(v))
	if reason == "" {
		return []byte(v), nil
	}
	if n, ok := newerVersion([]byte(v)); ok {
		return nil, &NewerError{Provider: provider, Path: k.Location(provider), Version: n}
	}
	ce := &CorruptError{Provider: provider, Path: k.Location(provider), Reason: reason}
	kept := provider + corruptMark + k.wait.clock.Now().UTC().Format(corruptTime)
	if err := k.set(ctx, "keep aside "+provider, kept, v); err != nil {
		ce.Reason += "; could not keep it aside: " + err.Error()
		return nil, ce
	}
	ce.KeptAs = "keyring:" + KeyringService + "/" + kept
	if err := k.del(ctx, "keep aside "+provider, provider); err != nil {
		ce.Reason += "; could not remove it: " + err.Error()
	}
	return nil, ce
}

// Save implements Store and records provider in the index item. A corrupt
// item already there is first kept aside as Load would.
func (k *Keyring) Save(ctx context.Context, provider string, blob []byte) error {
	if err := checkSave(provider, blob); err != nil {
		return err
	}
	// Never replace an unreadable item silently: Load keeps a corrupt one
	// aside first.
	if _, err := k.Load(ctx, provider); err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
		return err
	}
	if err := k.set(ctx, "save "+provider, provider, string(blob)); err != nil {
		return err
	}
	k.stamp(provider)
	return k.updateIndex(ctx, func(names []string) []string {
		if i, found := slices.BinarySearch(names, provider); !found {
			names = slices.Insert(names, i, provider)
		}
		return names
	})
}

// stampExt names the file beside the lock that every Save and Delete
// rewrites, so Watch can see keyring changes through the filesystem.
const stampExt = ".changed"

// stamp tells watching processes that provider's item changed. Best
// effort: the item is what counts, a missed stamp only delays the news.
func (k *Keyring) stamp(provider string) {
	_ = os.WriteFile(filepath.Join(k.lockDir, provider+stampExt), []byte(k.wait.clock.Now().UTC().Format(time.RFC3339Nano)), 0o600)
}

// Watch implements Watcher through the stamps beside the locks: a secret
// service has no change events of its own.
func (k *Keyring) Watch(ctx context.Context, changed func(provider string)) error {
	watchDir(ctx, k.lockDir, stampExt, k.wait.clock, k.watching, changed)
	return nil
}

// Delete implements Store.
func (k *Keyring) Delete(ctx context.Context, provider string) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	if err := k.del(ctx, "delete "+provider, provider); err != nil {
		return err
	}
	k.stamp(provider)
	return k.updateIndex(ctx, func(names []string) []string {
		return slices.DeleteFunc(names, func(n string) bool { return n == provider })
	})
}

// List implements Store from the index item.
func (k *Keyring) List(ctx context.Context) ([]string, error) {
	return k.readIndex(ctx)
}

// readIndex returns the sorted provider names in the index. A missing index
// is an empty one; an unreadable one is treated as empty too, since every
// blob stays reachable by name and the next Save rewrites the index.
func (k *Keyring) readIndex(ctx context.Context) ([]string, error) {
	v, err := k.get(ctx, "list", keyringIndex)
	if errors.Is(err, ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	if json.Unmarshal([]byte(v), &names) != nil {
		return []string{}, nil
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !keyName.MatchString(n) })
	slices.Sort(names)
	return slices.Compact(names), nil
}

// updateIndex is a locked read-modify-write of the index item, so that two
// processes saving different providers do not drop each other's names.
func (k *Keyring) updateIndex(ctx context.Context, change func([]string) []string) error {
	unlock, err := k.wait.acquire(ctx, "keyring index", k.indexLock, filepath.Join(k.lockDir, "keyring-index"+lockExt))
	if err != nil {
		return err
	}
	defer unlock()
	names, err := k.readIndex(ctx)
	if err != nil {
		return err
	}
	v, err := json.Marshal(change(names))
	if err != nil {
		return fmt.Errorf("keyring index: %w", err)
	}
	return k.set(ctx, "update index", keyringIndex, string(v))
}

// Lock implements Store: the per-provider lock in this process, then a flock
// on <lockDir>/<provider>.lock.
func (k *Keyring) Lock(ctx context.Context, provider string) (func(), error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	return k.wait.acquire(ctx, provider, k.locks.get(provider), filepath.Join(k.lockDir, provider+lockExt))
}
