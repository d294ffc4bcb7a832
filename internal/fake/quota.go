package fake

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Quota header families the upstream can speak (PROVIDERS.md §7).
const (
	QuotaAnthropic = "anthropic" // anthropic-ratelimit-unified-*
	QuotaCodex     = "codex"     // x-codex-*
	QuotaCopilot   = "copilot"   // x-quota-snapshot-*
)

// QuotaPlan makes the upstream answer a path prefix's requests with one
// family's quota headers that fill as requests arrive, the way a
// subscription is used up: each request adds PerRequest percent to the
// short window (5 hours, or Copilot's month) and a tenth of it to the long
// one (7 days). A full short window is refused (429, Copilot 402) until it
// resets.
type QuotaPlan struct {
	Family string
	// Used is the short window's percentage before the first request;
	// the long window starts at a third of it.
	Used       float64
	PerRequest float64
}

// quotaState is one prefix's windows.
type quotaState struct {
	plan        QuotaPlan
	short, long float64
	shortReset  time.Time
	longReset   time.Time
	shortLength time.Duration
}

// quotaBook is the upstream's quota per path prefix.
type quotaBook struct {
	mu    sync.Mutex // guards state
	state map[string]*quotaState
}

const (
	fiveHours = 5 * time.Hour
	week      = 7 * 24 * time.Hour
)

// quota answers for the plan whose prefix path starts with: it counts the
// request, sets the family's headers on h and reports whether the request
// is refused because the short window is full. Paths no plan covers get
// nothing.
func (u *Upstream) quota(h http.Header, path string) (family string, refused bool) {
	if len(u.opts.Quota) == 0 {
		return "", false
	}
	prefix := "/" + strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)[0]
	plan, ok := u.opts.Quota[prefix]
	if !ok {
		return "", false
	}
	now := u.opts.Clock.Now().UTC()
	b := &u.quotas
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == nil {
		b.state = map[string]*quotaState{}
	}
	st := b.state[prefix]
	if st == nil {
		st = &quotaState{plan: plan, short: plan.Used, long: plan.Used / 3, shortLength: fiveHours,
			// Part-way through both windows, as a subscription in use is.
			shortReset: now.Add(3*time.Hour + 10*time.Minute), longReset: now.Add(4*24*time.Hour + 4*time.Hour)}
		if plan.Family == QuotaCopilot {
			st.shortReset = time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			st.shortLength = st.shortReset.Sub(st.shortReset.AddDate(0, -1, 0))
		}
		b.state[prefix] = st
	}
	for !now.Before(st.shortReset) {
		st.short, st.shortReset = 0, st.shortReset.Add(st.shortLength)
	}
	for !now.Before(st.longReset) {
		st.long, st.longReset = 0, st.longReset.Add(week)
	}
	refused = st.short >= 100
	if !refused {
		st.short = min(100, st.short+plan.PerRequest)
		st.long = min(100, st.long+plan.PerRequest/10)
	}
	st.headers(h, refused)
	return plan.Family, refused
}

// headers writes the state in the family's own units: Anthropic a 0–1
// fraction and epoch seconds, Codex percent and epoch seconds, Copilot the
// percentage remaining and an ISO 8601 reset.
func (st *quotaState) headers(h http.Header, refused bool) {
	status := func(used float64) string {
		switch {
		case used >= 100:
			return "rejected"
		case used >= 90:
			return "allowed_warning"
		}
		return "allowed"
	}
	switch st.plan.Family {
	case QuotaAnthropic:
		const p = "anthropic-ratelimit-unified-"
		claim, reset := "five_hour", st.shortReset
		if st.long > st.short {
			claim, reset = "seven_day", st.longReset
		}
		overall := status(max(st.short, st.long))
		if refused {
			overall = "rejected"
		}
		h.Set(p+"status", overall)
		h.Set(p+"reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set(p+"representative-claim", claim)
		h.Set(p+"5h-status", status(st.short))
		h.Set(p+"5h-reset", strconv.FormatInt(st.shortReset.Unix(), 10))
		h.Set(p+"5h-utilization", strconv.FormatFloat(st.short/100, 'f', 4, 64))
		h.Set(p+"7d-status", status(st.long))
		h.Set(p+"7d-reset", strconv.FormatInt(st.longReset.Unix(), 10))
		h.Set(p+"7d-utilization", strconv.FormatFloat(st.long/100, 'f', 4, 64))
		h.Set(p+"overage-status", "rejected")
		h.Set(p+"overage-disabled-reason", "org_level_disabled")
	case QuotaCodex:
		h.Set("x-codex-primary-used-percent", strconv.FormatFloat(st.short, 'f', 1, 64))
		h.Set("x-codex-primary-window-minutes", "300")
		h.Set("x-codex-primary-reset-at", strconv.FormatInt(st.shortReset.Unix(), 10))
		h.Set("x-codex-secondary-used-percent", strconv.FormatFloat(st.long, 'f', 1, 64))
		h.Set("x-codex-secondary-window-minutes", "10080")
		h.Set("x-codex-secondary-reset-at", strconv.FormatInt(st.longReset.Unix(), 10))
		h.Set("x-codex-primary-over-secondary-limit-percent", "0")
	case QuotaCopilot:
		q := url.Values{}
		q.Set("ent", "300")
		q.Set("ov", "0.0")
		q.Set("ovPerm", "false")
		q.Set("rem", strconv.FormatFloat(100-st.short, 'f', 1, 64))
		q.Set("rst", st.shortReset.Format(time.RFC3339))
		h.Set("x-quota-snapshot-premium_interactions", q.Encode())
		h.Set("x-quota-snapshot-chat", "ent=-1&ov=0.0&ovPerm=true&rem=100.0&rst="+url.QueryEscape(st.shortReset.Format(time.RFC3339)))
	}
}

// writeQuotaRefusal answers a request over its limit as the family's API
// does.
func writeQuotaRefusal(w http.ResponseWriter, family string) {
	w.Header().Set("Content-Type", "application/json")
	switch family {
	case QuotaAnthropic:
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your usage limit."}}`)
	case QuotaCodex:
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus"}}`)
	default:
		w.WriteHeader(http.StatusPaymentRequired)
		_, _ = fmt.Fprint(w, `{"error":{"message":"You have no quota","code":"quota_exceeded"}}`)
	}
}
