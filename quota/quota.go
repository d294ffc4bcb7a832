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

// rank orders statuses so the worst of several can be taken; an unknown
// status ranks as allowed.
func (s Status) rank() int {
	switch s {
	case Warning:
		return 1
	case Rejected:
		return 2
	}
	return 0
}

// Worse returns the more severe of s and t, so a subscription is as bad as
// its worst window.
func (s Status) Worse(t Status) Status {
	if t.rank() > s.rank() {
		return t
	}
	if s == "" {
		return Allowed
	}
	return s
}

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
	ResetsAt      time.Time `json:"resets_at,omitzero"`
	WindowMinutes int       `json:"window_minutes"`
	Status        Status    `json:"status"`
	// UsageUnknown is set when the server named the window and its state
	// but not how full it is (Anthropic's answers before utilization
	// headers existed): UsedPercent is then only 100 for a rejected window.
	UsageUnknown bool `json:"usage_unknown,omitempty"`
	// Source and ObservedAt say where and when this window was last seen,
	// which can be older than its snapshot's when a later answer did not
	// mention it.
	Source     Source    `json:"source,omitempty"`
	ObservedAt time.Time `json:"observed_at,omitzero"`
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

// Window returns the named window, so callers need not loop.
func (s Snapshot) Window(name string) (Window, bool) {
	for _, w := range s.Windows {
		if w.Name == name {
			return w, true
		}
	}
	return Window{}, false
}

// Rejected reports whether any window refuses requests now: `quota` exits 1
// on it.
func (s Snapshot) Rejected() bool {
	for _, w := range s.Windows {
		if w.Status == Rejected {
			return true
		}
	}
	return s.Status == Rejected
}
