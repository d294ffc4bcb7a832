package auth

import "time"

// State is a provider's place in the credential lifecycle, as the dashboard
// and `auth status` show it.
type State string

// The states. StateRetrying and StateNeedsLogin are never confused: the first
// will fix itself, the second needs the user.
const (
	StateOK         State = "ok"
	StateExpiring   State = "expiring"
	StateRefreshing State = "refreshing"
	StateRetrying   State = "retrying"
	StateExpired    State = "expired"
	StateNeedsLogin State = "needs_login"
)

// Status is everything a screen or script may know about one provider. Its
// JSON form is exactly the `auth status --json` element of DESIGN.md; the
// fields tagged "-" feed the dashboard only.
type Status struct {
	Provider            string     `json:"provider"`
	Authenticated       bool       `json:"authenticated"`
	Reason              string     `json:"reason,omitempty"`
	AccountID           string     `json:"account_id"`
	Email               string     `json:"email"`
	Plan                string     `json:"plan"`
	ExpiresAt           *time.Time `json:"expires_at"`
	ExpiresIn           int64      `json:"expires_in"`
	AccessTokenPreview  string     `json:"access_token_preview"`
	RefreshTokenPreview string     `json:"refresh_token_preview"`
	Scopes              []string   `json:"scopes"`
	Storage             string     `json:"storage"`
	LastRefresh         *time.Time `json:"last_refresh"`
	LastError           string     `json:"last_error"`

	State State `json:"-"`
	// NextRefresh is when the scheduler will refresh next (zero: not scheduled).
	NextRefresh time.Time `json:"-"`
	// NextAttempt is when a retrying refresh tries again.
	NextAttempt time.Time `json:"-"`
	// ObtainedAt is when the current access token was issued to us.
	ObtainedAt time.Time `json:"-"`
}
