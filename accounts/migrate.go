package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// Migrate moves the provider's record in the released layout (one record
// per provider, key <provider>) into an account named by its identity, so
// upgrading costs no login. It returns the account's name, or "" when
// there was nothing to move.
//
// It is safe to run at every start and from several processes at once:
// under the provider's lock (the one the released build took to write
// that record) it writes the account's record first, then the active
// record when there is none, and only then deletes the old record. A
// crash between any two steps leaves the old record in place, and the
// next run finishes the move with the same result. When the account
// already has a record, the newer of the two (by its last refresh or
// login) is kept, so a login made meanwhile by the released build wins.
//
// A record a newer build wrote (store.ErrNewer) is not moved and its
// error is returned; so is a corrupt one, which the store kept aside.
func (b *Book) Migrate(ctx context.Context, provider string) (string, error) {
	if _, err := b.st.Load(ctx, provider); errors.Is(err, store.ErrNotFound) {
		return "", nil // the common case costs no lock
	} else if err != nil {
		return "", err
	}
	unlock, err := b.st.Lock(ctx, provider)
	if err != nil {
		return "", fmt.Errorf("move %s's credentials into an account: %w", provider, err)
	}
	defer unlock()
	blob, err := b.st.Load(ctx, provider)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil // another process moved it meanwhile
	}
	if err != nil {
		return "", err
	}
	legacy, err := auth.UnmarshalCredentials(blob)
	if err != nil {
		return "", fmt.Errorf("move %s's credentials into an account: %w", provider, err)
	}
	name := FromIdentity(legacy)
	if err := b.adopt(ctx, provider, name, legacy, blob); err != nil {
		return "", err
	}
	if err := b.ensureActive(ctx, provider, name); err != nil {
		return "", err
	}
	if err := b.st.Delete(ctx, provider); err != nil {
		return "", fmt.Errorf("move %s's credentials into account %s: the account is written, but the old record could not be removed (the next start tries again): %w", provider, name, err)
	}
	return name, nil
}

// adopt writes the released record blob as account name's record, unless
// the account already holds a record at least as new.
func (b *Book) adopt(ctx context.Context, provider, name string, legacy auth.Credentials, blob []byte) error {
	key := store.AccountKey(provider, name)
	unlock, err := b.st.Lock(ctx, key)
	if err != nil {
		return fmt.Errorf("move %s's credentials into account %s: %w", provider, name, err)
	}
	defer unlock()
	cur, err := b.st.Load(ctx, key)
	switch {
	case err == nil:
		if c, derr := auth.UnmarshalCredentials(cur); derr == nil && !stamp(legacy).After(stamp(c)) {
			return nil // written by an earlier, interrupted move, or newer already
		}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrCorrupt):
	default:
		return fmt.Errorf("move %s's credentials into account %s: %w", provider, name, err)
	}
	if err := b.st.Save(ctx, key, blob); err != nil {
		return fmt.Errorf("move %s's credentials into account %s (the old record is kept): %w", provider, name, err)
	}
	return nil
}

// stamp is when a record last changed hands: its last refresh, else its login.
func stamp(c auth.Credentials) time.Time {
	if c.LastRefresh.After(c.ObtainedAt) {
		return c.LastRefresh
	}
	return c.ObtainedAt
}
