package quota

import (
	"net/url"
	"sort"
	"strings"
	"time"
)

// copilotHeaders reads x-quota-snapshot-<name> (premium_interactions,
// premium_models, chat, completions) and the newer x-usage-ratelimit-<name>
// (session, weekly). Each value is URL-encoded: ent entitlement (-1 is
// unlimited), ov overage used, ovPerm overage permitted, rem the
// percentage *remaining*, rst the reset (ISO 8601). Unlimited quotas have
// nothing to meter and are left out.
func copilotHeaders(f fields) []Window {
	var out []Window
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var id string
		if rest, ok := strings.CutPrefix(k, copilotPrefix); ok {
			id = rest
		} else if rest, ok := strings.CutPrefix(k, copilotUsage); ok {
			id = rest
		} else {
			continue
		}
		id = name(id)
		if id == "" {
			continue
		}
		q, err := url.ParseQuery(f[k])
		if err != nil {
			continue
		}
		rem, ok := number(q.Get("rem"))
		if !ok {
			continue
		}
		ent, hasEnt := number(q.Get("ent"))
		reset, _ := isoTime(q.Get("rst"))
		if hasEnt && ent < 0 {
			continue // unlimited: nothing to meter
		}
		out = append(out, copilotWindow(id, rem, strings.EqualFold(q.Get("ovPerm"), "true"), reset))
	}
	return out
}

// copilotWindow turns a remaining percentage into a window. Copilot's
// quotas are monthly: the window opens a month before its reset. With
// overage permitted an exhausted window still answers, so it only warns.
func copilotWindow(id string, remaining float64, overage bool, reset time.Time) Window {
	w := Window{Name: id, UsedPercent: clamp(Full - remaining), ResetsAt: reset}
	switch {
	case id == "session":
		w.WindowMinutes = 5 * 60
	case id == "weekly":
		w.WindowMinutes = 7 * 24 * 60
	case !reset.IsZero():
		w.WindowMinutes = int(reset.Sub(reset.AddDate(0, -1, 0)) / time.Minute)
	}
	w.Status = statusAt(w.UsedPercent)
	if overage && w.Status == Rejected {
		w.Status = Warning
	}
	return w
}
