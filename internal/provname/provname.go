// Package provname is the one rule for a provider's name. A name is a path
// segment of the proxy's routes, a file name in the credentials folder and
// a table of the config, so config, store, proxy and the command line's
// completion all check it here, the same way. It imports nothing of ours,
// so any package can use it.
package provname

import (
	"fmt"
	"regexp"
)

// Rule says in words what Valid accepts, for error messages.
const Rule = "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters"

// Pattern is Rule as an unanchored regular expression, for rules built on
// it (the store's keys add an account after '@').
const Pattern = `[a-z0-9][a-z0-9_-]{0,63}`

var re = regexp.MustCompile(`^` + Pattern + `$`)

// Valid reports whether name is a usable provider name.
func Valid(name string) bool { return re.MatchString(name) }

// Check returns nil for a valid name, else an error quoting (a bounded
// part of) the name and stating the rule.
func Check(name string) error {
	if Valid(name) {
		return nil
	}
	shown := name
	if len(shown) > 64 {
		shown = shown[:64] + "…"
	}
	return fmt.Errorf("provider name %q is not valid: want %s", shown, Rule)
}
