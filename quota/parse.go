package quota

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// number reads a decimal, refusing NaN and infinities: a value the server
// garbled is ignored, never shown.
func number(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// clamp keeps a percentage within 0–100 (Copilot's remaining can go
// negative, a utilization can pass 1) and rounds it to hundredths, so that
// 100 − 88.7 reads 11.3 and not 11.299999999999997.
func clamp(p float64) float64 { return math.Round(math.Min(Full, math.Max(0, p))*100) / 100 }

// maxEpoch is the year 9999; anything later is not a time.
const maxEpoch = 253402300799

// epoch reads Unix seconds; a value in milliseconds (some gateways send
// them) is recognised by its size.
func epoch(v float64) (time.Time, bool) {
	if v <= 0 {
		return time.Time{}, false
	}
	if v > maxEpoch {
		v /= 1000
		if v > maxEpoch {
			return time.Time{}, false
		}
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// epochString is epoch for a header value; a gateway that rewrites it as
// ISO 8601 is understood too.
func epochString(s string) (time.Time, bool) {
	v, ok := number(s)
	if !ok {
		return isoTime(s)
	}
	return epoch(v)
}

// after is now plus a number of seconds (Codex's reset-after-seconds).
func after(now time.Time, secs float64) (time.Time, bool) {
	if secs < 0 || secs > maxEpoch {
		return time.Time{}, false
	}
	return now.Add(time.Duration(secs * float64(time.Second))).UTC(), true
}

// isoTime reads an ISO 8601 time as the endpoints send it, with or without
// fractional seconds, or a bare date (Copilot's quota_reset_date).
func isoTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// maxName is the longest window name, in bytes.
const maxName = 40

// name turns a server's label into a window name: lower case, with only
// letters, digits and underscores (dashes become underscores), at most
// maxName bytes; "" when nothing usable is left. Window names reach
// terminals and JSON, so nothing else gets through.
func name(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxName; i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		case c == '-' || c == '.' || c == ' ':
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), "_")
}

// joinName is the window name prefix_family, the family cut (and its
// trailing underscores trimmed) so the whole fits in maxName; "" when no
// family is left. Window names and the claims that bind them are made
// alike, so a long family still names its window.
func joinName(prefix, family string) string {
	if room := maxName - len(prefix) - 1; len(family) > room {
		family = strings.TrimRight(family[:max(room, 0)], "_")
	}
	if family == "" {
		return ""
	}
	return prefix + "_" + family
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case, without
// allocating: header names arrive in any case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hasSuffixFold is strings.HasSuffix ignoring ASCII case, without
// allocating.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
