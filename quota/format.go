package quota

import (
	"fmt"
	"math"
	"time"
)

// Duration writes d the short way meters and status lines use: "42m",
// "1h10m", "3d4h"; anything under a minute is "<1m" and nothing is negative.
func Duration(d time.Duration) string {
	if d < time.Minute {
		return "<1m"
	}
	m := int64(d / time.Minute)
	days, hours, mins := m/(24*60), m/60%24, m%60
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh%dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	}
	return fmt.Sprintf("%dm", mins)
}

// Percent writes a window's fullness as every screen shows it: a whole
// number ("42%"), or "?" when the server did not say.
// The CLI, the status line and the dashboard share it so they never
// disagree by a rounding.
func (w Window) Percent() string {
	if w.UsageUnknown {
		return "?"
	}
	return fmt.Sprintf("%d%%", int(math.Floor(w.UsedPercent+0.5)))
}

// Labels names each snapshot of list the way screens do: its provider, and
// "provider@account" only for a provider seen with more than one account,
// so one login reads "claude", not "claude@default".
func Labels(list []Snapshot) []string {
	accounts := map[string]map[string]bool{}
	for _, s := range list {
		if accounts[s.Provider] == nil {
			accounts[s.Provider] = map[string]bool{}
		}
		accounts[s.Provider][s.Account] = true
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.Provider
		if len(accounts[s.Provider]) > 1 && s.Account != "" {
			out[i] += "@" + s.Account
		}
	}
	return out
}
