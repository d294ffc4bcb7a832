package auth

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
)

func TestParsePasted(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  callbackParams
		error bool
	}{
		{name: "bare code", in: "abc123", want: callbackParams{Code: "abc123"}},
		{name: "code#state", in: "abc123#st-9", want: callbackParams{Code: "abc123", State: "st-9"}},
		{name: "whitespace and newline", in: "\t abc123#st-9 \r\n", want: callbackParams{Code: "abc123", State: "st-9"}},
		{name: "double quotes", in: `"abc123#st-9"`, want: callbackParams{Code: "abc123", State: "st-9"}},
		{name: "single quotes in spaces", in: ` 'abc123' `, want: callbackParams{Code: "abc123"}},
		{name: "nested quotes", in: "\"'abc123'\"", want: callbackParams{Code: "abc123"}},
		{name: "redirect URL", in: "http://localhost:1455/auth/callback?code=abc&state=xyz&scope=openid",
			want: callbackParams{Code: "abc", State: "xyz"}},
		{name: "redirect URL with escapes", in: "http://127.0.0.1:9/cb?code=a%2Bb%2F&state=s%3D",
			want: callbackParams{Code: "a+b/", State: "s="}},
		{name: "hosted page URL with fragment", in: "https://example.com/done#code=abc&state=xyz",
			want: callbackParams{Code: "abc", State: "xyz"}},
		{name: "query string only", in: "code=abc&state=xyz", want: callbackParams{Code: "abc", State: "xyz"}},
		{name: "leading question mark", in: "?code=abc&state=xyz", want: callbackParams{Code: "abc", State: "xyz"}},
		{name: "provider error URL", in: "http://localhost/cb?error=access_denied&error_description=User+said+no&state=s",
			want: callbackParams{Error: "access_denied", ErrorDescription: "User said no", State: "s"}},
		{name: "empty", in: "", error: true},
		{name: "only quotes", in: `""`, error: true},
		{name: "URL without code", in: "http://localhost:1455/auth/callback?state=x", error: true},
		{name: "hash only", in: "#state", error: true},
		{name: "space inside code", in: "abc 123", error: true},
		{name: "control character", in: "abc\x00123", error: true},
		{name: "too long", in: strings.Repeat("a", maxPasted+1), error: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePasted(tc.in)
			if tc.error {
				if err == nil {
					t.Fatalf("parsePasted(%q) = %+v, want an error", tc.in, got)
				}
				return
			}
			got.query = false // where it came from is TestCallbackIssuer's concern
			if err != nil || got != tc.want {
				t.Fatalf("parsePasted(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzParsePasted feeds arbitrary pastes and callback queries to the
// parsers: they must never panic, and whatever they accept must be usable.
func FuzzParsePasted(f *testing.F) {
	for _, s := range []string{
		"abc", "abc#def", `"abc#def"`, "http://localhost:1455/auth/callback?code=a&state=b",
		"https://x/#code=a&state=b", "code=a&state=b&error=e", "?error=access_denied", "%zz", "\x00", "",
		"http://[::1]:80/cb?code=%", "'\"`abc`\"'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(p callbackParams, err error) {
			if err != nil {
				return
			}
			if p.Code == "" && p.Error == "" {
				t.Fatalf("accepted %q without code or error", s)
			}
			if p.Error == "" && !plausibleCode(p.Code) {
				t.Fatalf("accepted a code with spaces from %q: %q", s, p.Code)
			}
			if strings.TrimFunc(p.Code, unicode.IsSpace) != p.Code {
				t.Fatalf("code %q not trimmed", p.Code)
			}
		}
		check(parsePasted(s))
		if q, err := url.ParseQuery(s); err == nil {
			check(parseCallbackQuery(q))
		}
	})
}
