package provname

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for name, want := range map[string]bool{
		"claude": true, "corp-sso": true, "a_b": true, "9lives": true, strings.Repeat("a", 64): true,
		"": false, "Corp": false, "-x": false, "_x": false, ".x": false, "a/b": false, "a b": false,
		"a%2f": false, "..": false, strings.Repeat("a", 65): false, "é": false, "a\x1b": false,
	} {
		if got := Valid(name); got != want {
			t.Errorf("Valid(%q) = %v, want %v", name, got, want)
		}
		if err := Check(name); (err == nil) != want {
			t.Errorf("Check(%q) = %v", name, err)
		} else if err != nil && !strings.Contains(err.Error(), Rule) {
			t.Errorf("Check(%q) = %q does not state the rule", name, err)
		}
	}
}
