package quota

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrNoWindows says a usage endpoint answered in the expected format but
// named no window the model can show (an account without a subscription).
var ErrNoWindows = errors.New("the usage endpoint reported no quota windows")

// endpointSnapshot finishes a snapshot read from an endpoint body.
func endpointSnapshot(ws []Window, now time.Time, claim string, server Status) (Snapshot, error) {
	if len(ws) == 0 {
		return Snapshot{}, ErrNoWindows
	}
	now = now.UTC()
	s := Snapshot{Source: FromEndpoint, ObservedAt: now, Windows: ws}
	for i := range s.Windows {
		s.Windows[i].Source, s.Windows[i].ObservedAt = FromEndpoint, now
	}
	s.settle(claim, server)
	return s, nil
}

// ParseUsage reads a usage endpoint's body in whichever provider's shape it
// is (Claude's, Codex's, Copilot's), so a gateway that forwards one of them
// needs no setting to say which.
func ParseUsage(body []byte, now time.Time) (Snapshot, error) {
	var errs []error
	for _, parse := range []func([]byte, time.Time) (Snapshot, error){ParseClaudeUsage, ParseCodexUsage, ParseCopilotUser} {
		s, err := parse(body, now)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	if errors.Is(errs[0], ErrNoWindows) {
		return Snapshot{}, ErrNoWindows
	}
	return Snapshot{}, errs[0]
}

// claudeBucket is one window of GET /api/oauth/usage: utilization is a
// percentage (0–100, unlike the headers' fraction), resets_at ISO 8601 or
// null.
type claudeBucket struct {
	Utilization *float64 `json:"utilization"`
	ResetsAt    *string  `json:"resets_at"`
}

type claudeExtra struct {
	IsEnabled    bool     `json:"is_enabled"`
	MonthlyLimit *float64 `json:"monthly_limit"`
	UsedCredits  *float64 `json:"used_credits"`
	Utilization  *float64 `json:"utilization"`
}

type claudeLimit struct {
	Kind     string   `json:"kind"`
	Percent  *float64 `json:"percent"`
	ResetsAt *string  `json:"resets_at"`
	Scope    string   `json:"scope"`
	IsActive bool     `json:"is_active"`
}

// ParseClaudeUsage reads Anthropic's GET /api/oauth/usage body: five_hour,
// seven_day and every seven_day_<family> bucket, extra_usage as the overage
// window, and the newer limits[] list for any window the buckets did not
// give (its active limit binds).
func ParseClaudeUsage(body []byte, now time.Time) (Snapshot, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return Snapshot{}, fmt.Errorf("usage body is not a JSON object: %w", err)
	}
	var ws []Window
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	add := func(w Window) {
		if _, ok := (Snapshot{Windows: ws}).Window(w.Name); !ok {
			ws = append(ws, w)
		}
	}
	bucket := func(key, wname string) {
		var b claudeBucket
		if json.Unmarshal(raw[key], &b) != nil || b.Utilization == nil {
			return
		}
		w := Window{Name: wname, WindowMinutes: anthropicMinutes(wname), UsedPercent: clamp(*b.Utilization)}
		if b.ResetsAt != nil {
			w.ResetsAt, _ = isoTime(*b.ResetsAt)
		}
		w.Status = statusAt(w.UsedPercent)
		add(w)
	}
	bucket("five_hour", "5h")
	bucket("seven_day", "7d")
	for _, k := range keys {
		if fam, ok := strings.CutPrefix(k, "seven_day_"); ok {
			if f := name(fam); f != "" {
				bucket(k, "7d_"+f)
			}
		}
	}
	var extra claudeExtra
	if json.Unmarshal(raw["extra_usage"], &extra) == nil && extra.IsEnabled {
		used, ok := 0.0, false
		switch {
		case extra.Utilization != nil:
			used, ok = *extra.Utilization, true
		case extra.MonthlyLimit != nil && *extra.MonthlyLimit > 0 && extra.UsedCredits != nil:
			used, ok = *extra.UsedCredits / *extra.MonthlyLimit * 100, true
		}
		if ok {
			w := Window{Name: "overage", UsedPercent: clamp(used)}
			w.Status = statusAt(w.UsedPercent)
			add(w)
		}
	}
	claim := ""
	var limits []claudeLimit
	if json.Unmarshal(raw["limits"], &limits) == nil {
		for _, l := range limits {
			var wname string
			switch strings.ToLower(l.Kind) {
			case "session":
				wname = "5h"
			case "weekly_all":
				wname = "7d"
			case "weekly_scoped":
				wname = joinName("7d", name(l.Scope))
			}
			if wname == "" || l.Percent == nil {
				continue
			}
			w := Window{Name: wname, WindowMinutes: anthropicMinutes(wname), UsedPercent: clamp(*l.Percent)}
			if l.ResetsAt != nil {
				w.ResetsAt, _ = isoTime(*l.ResetsAt)
			}
			w.Status = statusAt(w.UsedPercent)
			add(w)
			if l.IsActive && claim == "" {
				claim = wname
			}
		}
	}
	return endpointSnapshot(ws, now, claim, "")
}

// whamWindow is one window of Codex's GET /backend-api/wham/usage.
type whamWindow struct {
	UsedPercent        *float64 `json:"used_percent"`
	LimitWindowSeconds *float64 `json:"limit_window_seconds"`
	ResetAfterSeconds  *float64 `json:"reset_after_seconds"`
	ResetAt            *float64 `json:"reset_at"`
}

type whamRateLimit struct {
	Allowed      *bool       `json:"allowed"`
	LimitReached *bool       `json:"limit_reached"`
	Primary      *whamWindow `json:"primary_window"`
	Secondary    *whamWindow `json:"secondary_window"`
}

type whamUsage struct {
	PlanType   string         `json:"plan_type"`
	RateLimit  *whamRateLimit `json:"rate_limit"`
	Additional []struct {
		LimitName      string         `json:"limit_name"`
		MeteredFeature string         `json:"metered_feature"`
		RateLimit      *whamRateLimit `json:"rate_limit"`
	} `json:"additional_rate_limits"`
}

// ParseCodexUsage reads Codex's GET /backend-api/wham/usage body: the
// default rate limit's primary and secondary windows, then each additional
// rate limit, named like the headers' families. limit_reached (or allowed
// false) marks the fullest window rejected.
func ParseCodexUsage(body []byte, now time.Time) (Snapshot, error) {
	var u whamUsage
	if err := json.Unmarshal(body, &u); err != nil {
		return Snapshot{}, fmt.Errorf("usage body is not Codex's wham/usage JSON: %w", err)
	}
	now = now.UTC()
	var ws []Window
	server := Status("")
	read := func(family string, rl *whamRateLimit) {
		if rl == nil {
			return
		}
		for _, slot := range []struct {
			name string
			w    *whamWindow
		}{{"primary", rl.Primary}, {"secondary", rl.Secondary}} {
			if w, ok := whamWindowOf(codexWindowName(family, slot.name), slot.w, now); ok {
				ws = append(ws, w)
			}
		}
		if family == "codex" && ((rl.LimitReached != nil && *rl.LimitReached) || (rl.Allowed != nil && !*rl.Allowed)) {
			server = Rejected
		}
	}
	read("codex", u.RateLimit)
	for _, a := range u.Additional {
		id := a.MeteredFeature
		if id == "" {
			id = a.LimitName
		}
		if fam := codexFamilyName(id); fam != "" && fam != "codex" {
			read(fam, a.RateLimit)
		}
	}
	return endpointSnapshot(ws, now, "", server)
}

func whamWindowOf(wname string, w *whamWindow, now time.Time) (Window, bool) {
	if w == nil || w.UsedPercent == nil {
		return Window{}, false
	}
	out := Window{Name: wname, UsedPercent: clamp(*w.UsedPercent)}
	if w.LimitWindowSeconds != nil && *w.LimitWindowSeconds > 0 && *w.LimitWindowSeconds < 1e9 {
		out.WindowMinutes = int(*w.LimitWindowSeconds / 60)
	}
	if w.ResetAt != nil {
		out.ResetsAt, _ = epoch(*w.ResetAt)
	}
	if out.ResetsAt.IsZero() && w.ResetAfterSeconds != nil {
		out.ResetsAt, _ = after(now, *w.ResetAfterSeconds)
	}
	out.Status = statusAt(out.UsedPercent)
	return out, true
}

// copilotSnapshot is one quota of GET copilot_internal/user.
type copilotSnapshot struct {
	Entitlement      *float64 `json:"entitlement"`
	OverageCount     *float64 `json:"overage_count"`
	OveragePermitted bool     `json:"overage_permitted"`
	PercentRemaining *float64 `json:"percent_remaining"`
	Remaining        *float64 `json:"remaining"`
	Unlimited        bool     `json:"unlimited"`
}

type copilotUser struct {
	QuotaResetDate    string                     `json:"quota_reset_date"`
	QuotaResetDateUTC string                     `json:"quota_reset_date_utc"`
	QuotaSnapshots    map[string]copilotSnapshot `json:"quota_snapshots"`
}

// ParseCopilotUser reads GitHub's GET copilot_internal/user body: each
// metered quota_snapshots entry (chat, completions, premium_interactions)
// becomes a window, its percent_remaining turned into percent used; all
// reset at quota_reset_date. Unlimited entries are left out.
func ParseCopilotUser(body []byte, now time.Time) (Snapshot, error) {
	var u copilotUser
	if err := json.Unmarshal(body, &u); err != nil {
		return Snapshot{}, fmt.Errorf("usage body is not Copilot's user JSON: %w", err)
	}
	reset, ok := isoTime(u.QuotaResetDateUTC)
	if !ok {
		reset, _ = isoTime(u.QuotaResetDate)
	}
	keys := make([]string, 0, len(u.QuotaSnapshots))
	for k := range u.QuotaSnapshots {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ws []Window
	for _, k := range keys {
		q := u.QuotaSnapshots[k]
		id := name(k)
		if id == "" {
			continue
		}
		if q.Unlimited || (q.Entitlement != nil && *q.Entitlement < 0) {
			continue // nothing to meter
		}
		var rem float64
		switch {
		case q.PercentRemaining != nil:
			rem = *q.PercentRemaining
		case q.Entitlement != nil && *q.Entitlement > 0 && q.Remaining != nil:
			rem = *q.Remaining / *q.Entitlement * 100
		default:
			continue
		}
		ws = append(ws, copilotWindow(id, rem, q.OveragePermitted, reset))
	}
	return endpointSnapshot(ws, now, "", "")
}
