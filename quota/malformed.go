package quota

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Malformed lists the quota header values ReadHeaders had to skip because
// they do not parse as what their name says: a percentage, a count, a
// time, a status, a Copilot snapshot. Each entry is "name=value", the name
// in lower case and the value cut to 40 bytes, sorted. It is for the debug
// log: a gateway that mangles its headers shows up there instead of as
// meters that silently stay empty.
func Malformed(h http.Header) []string {
	var bad []string
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		k = strings.ToLower(k)
		v := strings.TrimSpace(vs[0])
		if !wellFormed(k, v) {
			bad = append(bad, k+"="+cut(v, 40))
		}
	}
	sort.Strings(bad)
	return bad
}

// wellFormed reports whether the value of quota header k parses as its
// parser expects; headers that are not quota headers, or carry free text,
// always do.
func wellFormed(k, v string) bool {
	switch {
	case strings.HasPrefix(k, anthropicPrefix):
		switch {
		case strings.HasSuffix(k, "-utilization"), strings.HasSuffix(k, "-surpassed-threshold"):
			_, ok := number(v)
			return ok
		case strings.HasSuffix(k, "-reset"):
			_, ok := epochString(v)
			return ok
		case strings.HasSuffix(k, "-status"):
			return anthropicStatus(v) != ""
		}
	case strings.HasPrefix(k, copilotPrefix), strings.HasPrefix(k, copilotUsage):
		q, err := url.ParseQuery(v)
		if err != nil {
			return false
		}
		_, ok := number(q.Get("rem"))
		return ok
	case strings.HasPrefix(k, "x-") && isCodexField(k):
		if strings.HasSuffix(k, "-reset-at") {
			_, ok := epochString(v)
			return ok
		}
		_, ok := number(v)
		return ok
	}
	return true
}

// isCodexField reports whether k is one of the numeric fields of a Codex
// family's window (x-<family>-{primary,secondary}-<field>).
func isCodexField(k string) bool {
	for _, slot := range []string{"-primary-", "-secondary-"} {
		i := strings.LastIndex(k, slot)
		if i < 0 {
			continue
		}
		switch k[i+len(slot):] {
		case "used-percent", "window-minutes", "reset-at", "reset-after-seconds":
			return true
		}
	}
	return false
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
