package store

import (
	"context"
	"errors"
	"fmt"
)

// FormatVersion is the only blob version this build reads; a blob with any
// other version is treated as corrupt rather than guessed at.
const FormatVersion = 1

// Store is what the token lifecycle needs from durable storage. Load, Save
// and Delete are individually atomic; a caller that reads, changes and writes
// back holds Lock around the whole cycle so that another goroutine or
// process cannot interleave.
type Store interface {
	// Load returns the blob saved for provider, ErrNotFound when there is
	// none, or a *CorruptError when what is there cannot be trusted.
	Load(ctx context.Context, provider string) ([]byte, error)
	// Save replaces the blob for provider atomically: a reader sees the old
	// blob or the new one, never a mix, even across a crash.
	Save(ctx context.Context, provider string, blob []byte) error
	// Delete removes the blob for provider; deleting nothing is not an error.
	Delete(ctx context.Context, provider string) error
	// List returns the providers that have a blob, sorted.
	List(ctx context.Context) ([]string, error)
	// Lock blocks until this caller holds the provider's lock (in this
	// process and across processes), ctx ends, or the backend's lock timeout
	// passes (ErrLockTimeout). The returned func releases it.
	Lock(ctx context.Context, provider string) (unlock func(), err error)
	// Location says where provider's blob lives, for status screens
	// ("~/.config/ccproxy-tui/credentials/claude.json", "keyring:ccproxy-tui/claude").
	Location(provider string) string
}

// ReserveSize is how much room Reserve holds for a record: far more than a
// credential record needs (a few kilobytes, even with a long id_token).
const ReserveSize = 64 << 10

// Reserver is implemented by stores that can hold room for a record before
// the caller does something it cannot undo, such as asking a server to
// rotate a refresh token whose successor must then be written.
type Reserver interface {
	// Reserve holds room for provider's next record. A full disk fails
	// here, before anything irreversible happened.
	Reserve(ctx context.Context, provider string) (Reservation, error)
}

// Reservation is room held by Reserve. Exactly one of Commit or Release
// ends it; Release after Commit does nothing.
type Reservation interface {
	// Commit replaces provider's record with blob, atomically like Save.
	Commit(ctx context.Context, blob []byte) error
	// Release frees the room without writing anything.
	Release()
}

// Watcher is implemented by stores that notice changes made by other
// processes, so every process shows the same credentials.
type Watcher interface {
	// Watch calls changed with a provider's name soon after its record
	// may have changed (saved, replaced or deleted by any process), until
	// ctx ends. It first calls changed("") once it is watching: anything
	// may have changed between the caller's last read and then. A call
	// may be spurious; it never misses a change for long. Watch blocks;
	// its error says why watching could not start.
	Watch(ctx context.Context, changed func(provider string)) error
}

// Errors callers branch on with errors.Is.
var (
	// ErrNotFound means nothing is stored for the provider: it needs a login.
	ErrNotFound = errors.New("no stored credentials")
	// ErrCorrupt means the stored blob could not be trusted; see CorruptError.
	ErrCorrupt = errors.New("stored credentials are corrupt")
	// ErrLockTimeout means another holder kept the lock past the timeout.
	ErrLockTimeout = errors.New("timed out waiting for the credentials lock")
	// ErrPermission means the OS refused access to the storage location.
	ErrPermission = errors.New("permission denied")
	// ErrUnavailable means the backend itself cannot be used (no secret service).
	ErrUnavailable = errors.New("storage backend unavailable")
	// ErrNewer means the record was written by a newer ccproxy-tui; see
	// NewerError.
	ErrNewer = errors.New("credentials written by a newer ccproxy-tui")
	// ErrInvalid means the caller passed something no backend stores: a
	// provider name that could escape the storage location, or a blob that
	// Load would reject as corrupt. Nothing was written.
	ErrInvalid = errors.New("invalid input to credential store")
)

// CorruptError reports a blob that did not parse, was empty or truncated, had
// an unknown version, or was a symlink (never followed). The original is
// never overwritten silently: KeptAs names where it was moved aside (a path,
// or a keyring location), empty when it could not be moved; Reason then says
// why. Neither field ever quotes the blob.
type CorruptError struct {
	Provider string
	Path     string
	KeptAs   string
	Reason   string
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("credentials for %s at %s are unusable (%s)", e.Provider, e.Path, e.Reason)
	if e.KeptAs != "" {
		msg += "; kept aside as " + e.KeptAs
	}
	return msg + "; run: ccproxy-tui auth login " + e.Provider
}

// Is makes errors.Is(err, ErrCorrupt) true for every CorruptError.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// NewerError reports a record whose format version is newer than this build
// reads. It is left exactly where it is, never moved aside or overwritten,
// so the newer build that wrote it still finds it. It matches ErrNewer and
// ErrUnavailable: this build cannot use that record until it is upgraded.
type NewerError struct {
	Provider string
	Path     string
	Version  int
}

func (e *NewerError) Error() string {
	return fmt.Sprintf("credentials for %s at %s were written by a newer ccproxy-tui (format version %d; this build reads version %d); they are left untouched: run the newer ccproxy-tui, or upgrade this one",
		e.Provider, e.Path, e.Version, FormatVersion)
}

// Is makes errors.Is(err, ErrNewer) and errors.Is(err, ErrUnavailable) true.
func (e *NewerError) Is(target error) bool { return target == ErrNewer || target == ErrUnavailable }
