package auth

import (
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/hub"
)

// EventKind names what happened to a provider's credentials.
type EventKind string

// The kinds of Event; the dashboard's activity log and the log file show them.
const (
	LoginStarted     EventKind = "login_started"
	LoginSucceeded   EventKind = "login_succeeded"
	LoginFailed      EventKind = "login_failed"
	RefreshStarted   EventKind = "refresh_started"
	RefreshSucceeded EventKind = "refresh_succeeded"
	RefreshFailed    EventKind = "refresh_failed"
	LoggedOut        EventKind = "logout"
	NeedsLogin       EventKind = "needs_login"
	// Revoked reports a logout's revocation at the provider: Err is set
	// when it failed.
	Revoked EventKind = "revoked"
	// PermissionsFixed reports a credentials file or folder that others
	// could read, found and tightened by the store.
	PermissionsFixed EventKind = "permissions_fixed"
	// Switched says another account of the provider became the active
	// one (Account names it).
	Switched EventKind = "switched"
)

// Event reports one step of a provider's credential lifecycle. It carries
// masked previews only, so it can be shown and logged as is. On a refresh
// that rotated tokens, Before and After hold the refresh-token previews so a
// reader can see the token really changed.
type Event struct {
	Time     time.Time
	Provider string
	// Account is the provider's account the event is about; "" for the
	// provider's one record.
	Account   string
	Kind      EventKind
	Message   string
	ExpiresAt time.Time
	Before    string
	After     string
	Err       error
}

// Bus fans events out to subscribers. Publishing never blocks: a subscriber
// whose buffer is full misses the event, and the miss is counted (Dropped).
type Bus = hub.Hub[Event]

// NewBus returns an empty bus.
func NewBus() *Bus { return new(Bus) }
