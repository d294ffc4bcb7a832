// Package acctname is the one rule for an account's name, beside provname's
// rule for a provider's. An account name is part of a proxy route
// (/<provider>@<account>/), of a file name in the credentials folder and of
// a keyring item, and it is typed by users and derived from identities, so
// the store, the command line and the proxy all check it here. It imports
// nothing of ours, so any package can use it.
package acctname

import (
	"fmt"
	"regexp"
)

// Rule says in words what Valid accepts, for error messages.
const Rule = "lower-case letters, digits, '.', '_', '-', '@' and '+', starting with a letter or digit, at most 64 characters"

// Pattern is Rule as an unanchored regular expression: a provider name's
// alphabet plus '.', '@' and '+', so an e-mail address is a name as it is.
const Pattern = `[a-z0-9][a-z0-9._@+-]{0,63}`

var re = regexp.MustCompile(`^` + Pattern + `$`)

// Valid reports whether name is a usable account name.
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
	return fmt.Errorf("account name %q is not valid: want %s", shown, Rule)
}
