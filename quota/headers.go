package quota

import (
	"net/http"
	"strings"
	"time"
)

// Header name prefixes and suffixes of the families ReadHeaders knows, in
// lower case (PROVIDERS.md §7).
const (
	anthropicPrefix = "anthropic-ratelimit-unified-"
	copilotPrefix   = "x-quota-snapshot-"
	copilotUsage    = "x-usage-ratelimit-"
	codexFamily     = "-primary-used-percent"
	codexSecondary  = "-secondary-used-percent"
)

// Present reports whether h carries any quota header. It allocates nothing,
// so the proxy can ask it of every response.
func Present(h http.Header) bool {
	for k := range h {
		if isQuotaHeader(k) {
			return true
		}
	}
	return false
}

func isQuotaHeader(k string) bool {
	switch {
	case !mayBeQuota(k):
		return false
	case hasPrefixFold(k, anthropicPrefix), hasPrefixFold(k, copilotPrefix), hasPrefixFold(k, copilotUsage):
		return true
	case hasPrefixFold(k, "x-"):
		return hasSuffixFold(k, codexFamily) || hasSuffixFold(k, codexSecondary)
	}
	return false
}

// mayBeQuota is a first-byte test that turns most headers away before a
// case-folding comparison: every quota header starts with "x-" or
// "anthropic-".
func mayBeQuota(k string) bool {
	if k == "" {
		return false
	}
	c := k[0] | 0x20 // ASCII lower case
	return c == 'x' || c == 'a'
}

// ReadHeaders reads every quota family in a response's headers, whichever
// provider sent them: Anthropic's unified rate limits, Codex's (and any
// family named by a -primary-used-percent header), Copilot's quota
// snapshots. Values that are missing or do not parse are skipped. It
// reports false when h holds no quota header, allocating nothing then. The
// snapshot's Provider and Account are left for the caller, who knows the
// route.
func ReadHeaders(h http.Header, now time.Time) (Snapshot, bool) {
	if !Present(h) {
		return Snapshot{}, false
	}
	f := make(fields)
	for k, vs := range h {
		// Every x- header, not just the quota markers: a Codex family's
		// window length and reset travel beside its used-percent.
		if len(vs) > 0 && (hasPrefixFold(k, "x-") || hasPrefixFold(k, anthropicPrefix)) {
			f[strings.ToLower(k)] = strings.TrimSpace(vs[0])
		}
	}
	now = now.UTC()
	s := Snapshot{Source: FromHeaders, ObservedAt: now}
	a := anthropicHeaders(f)
	s.Windows = append(s.Windows, a.windows...)
	s.Windows = append(s.Windows, codexHeaders(f, now)...)
	s.Windows = append(s.Windows, copilotHeaders(f)...)
	if len(s.Windows) == 0 {
		return Snapshot{}, false
	}
	for i := range s.Windows {
		s.Windows[i].Source, s.Windows[i].ObservedAt = FromHeaders, now
	}
	s.settle(a.claim, a.status)
	return s, true
}

// fields are the quota headers of one response, by lower-case name, first
// value only.
type fields map[string]string
