package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// Book answers which accounts each provider has and which is active, from
// the credentials store, so every process agrees.
type Book struct {
	st    store.Store
	clock clockwork.Clock
}

// New returns the Book of st; clock stamps switches (the real clock when nil).
func New(st store.Store, clock clockwork.Clock) *Book {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Book{st: st, clock: clock}
}

// Key says what a store key is: the provider's released record (Account
// and Active empty), one account's record, or the active-account record.
type Key struct {
	Provider string
	Account  string
	Active   bool
}

// ParseKey reads a store key; ok is false for keys that are none of the three.
func ParseKey(k string) (Key, bool) {
	if p, a, found := strings.Cut(k, "@"); found {
		return Key{Provider: p, Account: a}, p != "" && Check(a) == nil
	}
	if p, found := strings.CutSuffix(k, ".active"); found {
		return Key{Provider: p, Active: true}, p != ""
	}
	return Key{Provider: k}, k != ""
}

// List returns the provider's account names, sorted.
func (b *Book) List(ctx context.Context, provider string) ([]string, error) {
	keys, err := b.st.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		if key, ok := ParseKey(k); ok && key.Provider == provider && key.Account != "" {
			out = append(out, key.Account)
		}
	}
	slices.Sort(out)
	return out, nil
}

// activeRecord is what <provider>.active holds.
type activeRecord struct {
	Version    int       `json:"version"`
	Active     string    `json:"active"`
	SwitchedAt time.Time `json:"switched_at,omitzero"`
}

// Active returns the provider's active account among accounts (its List):
// the one the active record names while it exists, else the first; ""
// when there is no account. An unreadable active record is not fatal: the
// first account serves until the next switch rewrites the record.
func (b *Book) Active(ctx context.Context, provider string, accounts []string) string {
	if len(accounts) == 0 {
		return ""
	}
	blob, err := b.st.Load(ctx, store.ActiveKey(provider))
	if err == nil {
		var r activeRecord
		if json.Unmarshal(blob, &r) == nil && slices.Contains(accounts, r.Active) {
			return r.Active
		}
	}
	return accounts[0]
}

// SetActive records account as the provider's active one, under the
// record's lock, atomically, for every process.
func (b *Book) SetActive(ctx context.Context, provider, account string) error {
	if err := Check(account); err != nil {
		return err
	}
	key := store.ActiveKey(provider)
	unlock, err := b.st.Lock(ctx, key)
	if err != nil {
		return fmt.Errorf("switch %s to %s: %w", provider, account, err)
	}
	defer unlock()
	return b.setActive(ctx, provider, account)
}

// setActive writes the active record; its lock is held.
func (b *Book) setActive(ctx context.Context, provider, account string) error {
	blob, err := json.Marshal(activeRecord{Version: store.FormatVersion, Active: account, SwitchedAt: b.clock.Now().UTC()})
	if err != nil {
		return err
	}
	if err := b.st.Save(ctx, store.ActiveKey(provider), blob); err != nil {
		return fmt.Errorf("switch %s to %s: %w", provider, account, err)
	}
	return nil
}

// ensureActive makes account active unless the record already names an
// account; the record's lock is taken here.
func (b *Book) ensureActive(ctx context.Context, provider, account string) error {
	key := store.ActiveKey(provider)
	unlock, err := b.st.Lock(ctx, key)
	if err != nil {
		return fmt.Errorf("record the active %s account: %w", provider, err)
	}
	defer unlock()
	blob, err := b.st.Load(ctx, key)
	if err == nil {
		var r activeRecord
		if json.Unmarshal(blob, &r) == nil && Check(r.Active) == nil {
			if _, err := b.st.Load(ctx, store.AccountKey(provider, r.Active)); err == nil {
				return nil
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrCorrupt) {
		return fmt.Errorf("record the active %s account: %w", provider, err)
	}
	return b.setActive(ctx, provider, account)
}
