package termsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain ascii", "invalid_grant", "invalid_grant"},
		{"unicode kept", "Grüße — 日本 ✓", "Grüße — 日本 ✓"},
		{"clear screen", "\x1b[2J\x1b[Hok", `\x1b[2J\x1b[Hok`},
		{"osc 52 clipboard", "\x1b]52;c;ZXZpbA==\x07", `\x1b]52;c;ZXZpbA==\x07`},
		{"forged line", "denied\r\n✓ Logged in", `denied\r\n✓ Logged in`},
		{"tab", "a\tb", `a\tb`},
		{"c1 csi", "a\u009b2Jb", `a\x9b2Jb`},
		{"del", "a\x7fb", `a\x7fb`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"zero width", "a\u200bb", `a\u200bb`},
		{"invalid utf8", "a\xffb", `a\xffb`},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Line(tc.in); got != tc.want {
				t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTextKeepsLayout(t *testing.T) {
	in := "line one\n\tindented\x1b[31m red\r"
	want := "line one\n\tindented\\x1b[31m red\\r"
	if got := Text(in); got != want {
		t.Errorf("Text(%q) = %q, want %q", in, got, want)
	}
}

func TestSafeStringIsNotCopied(t *testing.T) {
	s := strings.Repeat("token endpoint answered 503 ", 8)
	if n := testing.AllocsPerRun(100, func() { _ = Line(s) }); n != 0 {
		t.Errorf("Line allocated %v times on a safe string, want 0", n)
	}
}

// FuzzLine proves that whatever comes in, what goes out is valid UTF-8 with no
// byte a terminal would act on, and that a safe string passes unchanged.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"ok", "\x1b]52;c;AAAA\x07", "a\u202eb", "\xff\xfe", "x\r\ny", "\u009b31m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Line(s), Text(s)} {
			if !utf8.ValidString(out) {
				t.Fatalf("output %q is not valid UTF-8", out)
			}
			for _, r := range out {
				if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) {
					t.Fatalf("output %q keeps control %U", out, r)
				}
			}
		}
		if strings.ContainsAny(Line(s), "\n\t") {
			t.Fatalf("Line(%q) keeps a newline or tab", s)
		}
		if firstUnsafe(s, false) < 0 && Line(s) != s {
			t.Fatalf("safe %q was changed", s)
		}
	})
}
