package quota

import (
	"strconv"
	"strings"
)

// anthropicResult is what Anthropic's unified headers say: the windows, the
// window the server says binds, and its overall status.
type anthropicResult struct {
	windows []Window
	claim   string
	status  Status
}

// anthropicStatus maps a unified status header value; unknown values say
// nothing.
func anthropicStatus(v string) Status {
	switch strings.ToLower(v) {
	case "allowed":
		return Allowed
	case "allowed_warning", "warning":
		return Warning
	case "rejected":
		return Rejected
	}
	return ""
}

// anthropicWindowFields are the per-window header suffixes, longest first so
// "surpassed-threshold" is not mistaken for another.
var anthropicWindowFields = []string{"surpassed-threshold", "disabled-reason", "utilization", "status", "reset", "in-use"}

// anthropicWindow is one window's raw header values.
type anthropicWindow struct {
	values map[string]string
}

// anthropicHeaders reads anthropic-ratelimit-unified-*: the 5h and 7d
// windows, per-model 7d_<family> windows found by pattern, overage, and the
// representative claim. Utilization is a 0–1 fraction, resets are epoch
// seconds. Answers from before utilization headers existed (September
// 2025) name only the claim, its status and reset: the claimed window is
// then shown with its status and an unknown percentage.
func anthropicHeaders(f fields) anthropicResult {
	var r anthropicResult
	wins := map[string]*anthropicWindow{}
	top := map[string]string{}
	for k, v := range f {
		rest, ok := strings.CutPrefix(k, anthropicPrefix)
		if !ok {
			continue
		}
		matched := false
		for _, field := range anthropicWindowFields {
			id, ok := strings.CutSuffix(rest, "-"+field)
			if !ok {
				continue
			}
			id = anthropicWindowName(id)
			if id == "" {
				break
			}
			w := wins[id]
			if w == nil {
				w = &anthropicWindow{values: map[string]string{}}
				wins[id] = w
			}
			w.values[field] = v
			matched = true
			break
		}
		if !matched {
			top[rest] = v
		}
	}
	r.status = anthropicStatus(top["status"])
	r.claim = anthropicClaim(top["representative-claim"])
	for _, id := range anthropicOrder(wins) {
		if w, ok := anthropicWindowOf(id, wins[id].values); ok {
			r.windows = append(r.windows, w)
		}
	}
	if r.claim != "" {
		found := false
		for i := range r.windows {
			w := &r.windows[i]
			if w.Name != r.claim {
				continue
			}
			found = true
			if w.ResetsAt.IsZero() {
				w.ResetsAt, _ = epochString(top["reset"])
			}
		}
		if !found && (r.status != "" || top["reset"] != "") {
			w := Window{Name: r.claim, WindowMinutes: anthropicMinutes(r.claim), Status: r.status, UsageUnknown: true}
			w.ResetsAt, _ = epochString(top["reset"])
			if w.Status == Rejected {
				w.UsedPercent = Full
			}
			r.windows = append(r.windows, w)
		}
	}
	return r
}

// anthropicOrder lists window ids the way screens show them: 5h, 7d, the
// per-model weeks by name, overage last.
func anthropicOrder(wins map[string]*anthropicWindow) []string {
	rank := func(id string) string {
		switch {
		case id == "5h":
			return "0"
		case id == "7d":
			return "1"
		case id == "overage":
			return "3"
		}
		return "2" + id
	}
	ids := make([]string, 0, len(wins))
	for id := range wins {
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && rank(ids[j]) < rank(ids[j-1]); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}

// anthropicWindowName accepts the window ids Anthropic uses in header
// names — 5h, 7d, 7d_<family>, overage, or any <n>h / <n>d with an
// optional _<family> — and refuses anything else.
func anthropicWindowName(id string) string {
	if id == "overage" {
		return id
	}
	span, family, _ := strings.Cut(id, "_")
	if len(span) < 2 || (span[len(span)-1] != 'h' && span[len(span)-1] != 'd') {
		return ""
	}
	for _, c := range span[:len(span)-1] {
		if c < '0' || c > '9' {
			return ""
		}
	}
	if anthropicMinutes(span) == 0 {
		return ""
	}
	if family == "" {
		if strings.Contains(id, "_") {
			return ""
		}
		return span
	}
	return joinName(span, name(family))
}

// anthropicMinutes is the length of a window from its id ("5h" is 300).
func anthropicMinutes(id string) int {
	span, _, _ := strings.Cut(id, "_")
	if len(span) < 2 {
		return 0
	}
	n, err := strconv.Atoi(span[:len(span)-1])
	if err != nil || n <= 0 || n > 366 {
		return 0
	}
	if span[len(span)-1] == 'h' {
		return n * 60
	}
	return n * 24 * 60
}

// anthropicClaim maps a representative claim to a window name:
// five_hour → 5h, seven_day → 7d, seven_day_opus → 7d_opus, overage. The
// fallback and overage-included variants bind the same window; "api" and
// unknown claims name none.
func anthropicClaim(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	v = strings.TrimSuffix(v, "_overage_included")
	v = strings.TrimSuffix(v, "_fallback")
	switch {
	case v == "five_hour":
		return "5h"
	case v == "seven_day":
		return "7d"
	case v == "overage":
		return "overage"
	case strings.HasPrefix(v, "seven_day_"):
		return joinName("7d", name(strings.TrimPrefix(v, "seven_day_")))
	}
	return ""
}

// anthropicWindowOf builds one window from its header values. A window the
// server names with nothing usable is dropped, and so is an overage window
// that is switched off (its disabled-reason says overage was never there to
// use; out_of_credits is the exception: then it was, and is spent). So is a
// window whose utilization is there but does not parse: the reading says
// nothing of it, and the last good percentage stands, rather than one
// garbled value turning the window to "unknown".
func anthropicWindowOf(id string, v map[string]string) (Window, bool) {
	w := Window{Name: id, WindowMinutes: anthropicMinutes(id)}
	if id == "overage" {
		if reason := strings.ToLower(v["disabled-reason"]); reason != "" && reason != "out_of_credits" {
			return Window{}, false
		}
	}
	raw, sent := v["utilization"]
	util, hasUtil := number(raw)
	if sent && !hasUtil {
		return Window{}, false
	}
	reset, hasReset := epochString(v["reset"])
	server := anthropicStatus(v["status"])
	if !hasUtil && !hasReset && server == "" {
		return Window{}, false
	}
	w.ResetsAt = reset
	if hasUtil {
		w.UsedPercent = clamp(util * 100)
		w.Status = statusAt(w.UsedPercent)
		if server != "" && w.Status == Rejected {
			// The server said whether it refuses (overage may carry a
			// full window); the percentage alone only warns.
			w.Status = Warning
		}
	} else {
		w.UsageUnknown = true
	}
	w.Status = w.Status.Worse(server)
	if _, warned := number(v["surpassed-threshold"]); warned {
		w.Status = w.Status.Worse(Warning)
	}
	if w.UsageUnknown && w.Status == Rejected {
		w.UsedPercent = Full
	}
	return w, true
}
