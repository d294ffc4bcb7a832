package accounts

import (
	"fmt"
	"strings"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// Default is the account name of a login that names no identity.
const Default = "default"

// Check applies the one account-name rule (store.CheckAccount).
func Check(name string) error { return store.CheckAccount(name) }

// FromIdentity names the account a login belongs to when the user gave no
// name: its e-mail address, else its account id, else Default. Upper case
// is folded and characters the rule does not allow become '-', so the
// name is stable across logins of the same identity.
func FromIdentity(c auth.Credentials) string {
	for _, id := range []string{c.Email, c.AccountID} {
		if name := fold(id); name != "" {
			return name
		}
	}
	return Default
}

// fold makes id a valid account name, or "" when nothing usable is left.
func fold(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', strings.ContainsRune("._@+-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.TrimLeft(b.String(), "._@+-")
	if len(name) > 64 {
		name = name[:64]
	}
	if Check(name) != nil {
		return ""
	}
	return name
}

// UnknownError says a provider has no account of the name asked for, and
// which accounts it has.
type UnknownError struct {
	Provider string
	Account  string
	Known    []string
}

func (e *UnknownError) Error() string {
	if len(e.Known) == 0 {
		return fmt.Sprintf("%s has no account %q, nor any other; log in with: ccproxy-tui auth login %s --account %s",
			e.Provider, e.Account, e.Provider, e.Account)
	}
	return fmt.Sprintf("%s has no account %q (its accounts: %s); add it with: ccproxy-tui auth login %s --account %s",
		e.Provider, e.Account, strings.Join(e.Known, ", "), e.Provider, e.Account)
}
