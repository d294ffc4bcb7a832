package quota

import "time"

// Status is how close a window, or a whole subscription, is to its limit, in
// the words of `quota --json`.
type Status string

// The statuses, from calm to refused.
const (
	Allowed  Status = "allowed"
	Warning  Status = "warning"
	Rejected Status = "rejected"
)

// Source says how an observation was made, so a reader can weigh its age.
type Source string

// The sources: read passively from a proxied response, or asked of the
// provider's usage endpoint.
const (
	FromHeaders  Source = "headers"
	FromEndpoint Source = "endpoint"
)

// Window is one limit a provider enforces. UsedPercent is always 0–100 used,
// whatever unit the wire gave (Anthropic's headers send a 0–1 fraction,
// Copilot's the percentage remaining).
type Window struct {
	Name          string    `json:"name"`
	UsedPercent   float64   `json:"used_percent"`
	ResetsAt      time.Time `json:"resets_at"`
	WindowMinutes int       `json:"window_minutes"`
	Status        Status    `json:"status"`
}

// Snapshot is everything known about one account's quota at one moment: the
// shape of each element of `quota --json`.
type Snapshot struct {
	Provider   string    `json:"provider"`
	Account    string    `json:"account"`
	Status     Status    `json:"status"`
	Binding    string    `json:"binding"`
	Source     Source    `json:"source"`
	ObservedAt time.Time `json:"observed_at"`
	Windows    []Window  `json:"windows"`
}
