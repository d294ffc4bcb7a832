package ledger

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// secretHeaders carry credentials in any provider's API; their values are
// never written, only a mark that they were there.
var secretHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"X-Api-Key":           true,
	"Api-Key":             true,
	"Cookie":              true,
	"Set-Cookie":          true,
	"X-Goog-Api-Key":      true,
	"Chatgpt-Account-Id":  true,
}

// Masked is what a credential header's value is stored as.
const Masked = "[masked]"

// isSecret says whether a header may hold a credential: the known ones,
// and any whose name speaks of a token, key, secret, cookie or session.
func isSecret(name string) bool {
	name = http.CanonicalHeaderKey(name)
	if secretHeaders[name] {
		return true
	}
	l := strings.ToLower(name)
	for _, w := range []string{"token", "key", "secret", "cookie", "session", "auth", "password"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// maskHeader returns h as JSON with every credential's value replaced by
// Masked, names in order, so a stored header never holds a secret.
func maskHeader(h http.Header) string {
	if len(h) == 0 {
		return "{}"
	}
	out := make(map[string][]string, len(h))
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := h[k]
		if isSecret(k) {
			masked := make([]string, len(vs))
			for i := range vs {
				masked[i] = Masked
			}
			vs = masked
		}
		out[http.CanonicalHeaderKey(k)] = vs
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func unmaskedHeader(s string) http.Header {
	h := http.Header{}
	_ = json.Unmarshal([]byte(s), &h)
	return h
}
