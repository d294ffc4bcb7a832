package auth

import (
	"errors"
	"fmt"
	"strings"
)

// CodeAccountChanged is the Error.Code of a refresh that answered for
// another account than the one stored.
const CodeAccountChanged = "account_changed"

// SameAccount reports, as an *Error (ErrLoginRequired), a refresh result
// after that names another account than before: a different account id
// (the id_token's sub, Codex's account, Claude's account uuid), or, when
// either side lacks an id, a different e-mail. A server that swaps the
// account under a refresh token must not switch the stored identity
// silently, so such credentials are never saved. Identity that is missing
// on one side is not a change.
func SameAccount(provider string, before, after Credentials) error {
	what, was, now := "", "", ""
	switch {
	case before.AccountID != "" && after.AccountID != "":
		if before.AccountID != after.AccountID {
			what, was, now = "account", before.AccountID, after.AccountID
		}
	case before.Email != "" && after.Email != "":
		if !strings.EqualFold(before.Email, after.Email) {
			what, was, now = "e-mail", before.Email, after.Email
		}
	}
	if what == "" {
		return nil
	}
	return &Error{Provider: provider, Op: "refresh", Kind: ErrLoginRequired, Code: CodeAccountChanged,
		Err: fmt.Errorf("the refresh answered for %s %q, not the stored %q, so nothing was saved",
			what, cleanCode(now), cleanCode(was)),
		Hint: "log in again to choose the account: ccproxy-tui auth login " + provider}
}

// errAccountChanged reports whether err is SameAccount's refusal.
func errAccountChanged(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Code == CodeAccountChanged
}
