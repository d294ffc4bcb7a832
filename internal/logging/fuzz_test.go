package logging

import (
	"strings"
	"testing"
)

// FuzzScrub feeds arbitrary text around a bearer token and a named secret
// to the scrubber: it must never panic, and neither secret may survive.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{"", "GET /x", `{"a":`, "Authorization", "x=1&", "\x1b[2J", "eyJ", "access_token"} {
		f.Add(s, "abcdefghijklmnopqrstuvwxyz0123")
	}
	f.Fuzz(func(t *testing.T, around, raw string) {
		tok := "T" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, raw)
		if len(tok) < 12 || strings.Contains(around, tok) {
			return
		}
		for _, s := range []string{
			around + " Authorization: Bearer " + tok + " " + around,
			around + ` {"refresh_token":"` + tok + `"} ` + around,
			around + " access_token=" + tok + "&" + around,
		} {
			if out := Scrub(s); strings.Contains(out, tok) {
				t.Fatalf("Scrub(%q) = %q keeps the secret", s, out)
			}
		}
	})
}
