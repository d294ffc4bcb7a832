package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Line makes s safe to print as one line: every control character (newlines
// and tabs included), escape sequence introducer, bidirectional override and
// invalid UTF-8 byte is shown escaped. A string with nothing to escape is
// returned as it is, without allocating.
func Line(s string) string { return clean(s, false) }

// Text is Line for multi-line text: newlines and tabs are kept, everything
// else Line escapes is escaped.
func Text(s string) string { return clean(s, true) }

func clean(s string, keepLayout bool) string {
	i := firstUnsafe(s, keepLayout)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r, keepLayout):
			writeEscaped(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// firstUnsafe is the byte offset of the first rune clean must escape, or -1.
func firstUnsafe(s string, keepLayout bool) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return i
			}
		}
		if unsafeRune(r, keepLayout) {
			return i
		}
	}
	return -1
}

// unsafeRune reports whether r can change what a terminal shows beyond
// itself: C0 and C1 controls (ESC, CSI, OSC, DCS and the rest), DEL, and the
// Unicode format characters that reorder or hide text.
func unsafeRune(r rune, keepLayout bool) bool {
	switch {
	case keepLayout && (r == '\n' || r == '\t'):
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x200b && r <= 0x200f, // zero-width spaces and marks
		r >= 0x2028 && r <= 0x202e, // line separators, bidi embeddings and overrides
		r >= 0x2066 && r <= 0x2069, // bidi isolates
		r == 0xfeff:                // zero-width no-break space
		return true
	}
	return false
}

func writeEscaped(b *strings.Builder, r rune) {
	switch r {
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	default:
		if r < 0x100 {
			fmt.Fprintf(b, `\x%02x`, r)
		} else {
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
}
