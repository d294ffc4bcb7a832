package acctname

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, name := range []string{"default", "ada@example.com", "work", "acct-7f3", "a.b_c+d", strings.Repeat("a", 64)} {
		if !Valid(name) || Check(name) != nil {
			t.Errorf("%q rejected", name)
		}
	}
	for _, name := range []string{"", "Work", "../claude", "a/b", ".hidden", "@x", "-x", "a b", "a\x00", "ä", "a%40b", "a?b", "a#b", strings.Repeat("a", 65)} {
		err := Check(name)
		if Valid(name) || err == nil || !strings.Contains(err.Error(), Rule) {
			t.Errorf("%q accepted (or the error does not state the rule): %v", name, err)
		}
	}
}
