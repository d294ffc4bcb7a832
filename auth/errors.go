package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
)

// Kinds of failure callers branch on with errors.Is.
var (
	// ErrLoginRequired means no refresh can fix this: no credentials, an
	// invalid_grant, a revoked or reused refresh token. The user must log in.
	ErrLoginRequired = errors.New("login required")
	// ErrTransient means trying again later may work: network, 5xx, 429.
	ErrTransient = errors.New("temporary failure")
	// ErrMisconfigured means the provider's settings are wrong (bad URL,
	// unknown client, unsupported flow); retrying will not help.
	ErrMisconfigured = errors.New("misconfigured")
	// ErrCancelled means the user or the caller stopped a login.
	ErrCancelled = errors.New("cancelled")
	// ErrPortInUse is wrapped by the error StartBrowser returns when the
	// callback port (and every fallback) is taken, so a CLI can offer the
	// pasted-code or device flow instead.
	ErrPortInUse = errors.New("callback port in use")
)

// Error is every failure auth returns. Its message names the provider, the
// operation and the next step; it never contains a token, code or verifier.
type Error struct {
	Provider string
	Op       string // "login", "refresh", "exchange", "device login" …
	Kind     error  // one of ErrLoginRequired, ErrTransient, ErrMisconfigured, ErrCancelled
	// Code is the OAuth error code when the server sent one ("invalid_grant").
	Code string
	// RetryAfter is the server's requested wait (429 Retry-After), if any.
	RetryAfter time.Duration
	// Err is the underlying cause, already scrubbed of secrets.
	Err error
	// Hint, when set, replaces the default next step derived from Kind.
	Hint string
	// causeHints is set when Err already names the next step (the store's
	// "set backend = \"file\""), so a second one would only repeat it.
	causeHints bool
}

// Error reads "<op> <provider>: <code>: <cause> (<next step>)", as one
// line a terminal cannot be made to interpret: parts of it came from a
// server, a file or a URL.
func (e *Error) Error() string { return termsafe.Line(e.text()) }

func (e *Error) text() string {
	msg := e.Op + " " + e.Provider
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if hint := e.hint(); hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

func (e *Error) hint() string {
	if e.causeHints {
		return ""
	}
	if e.Hint != "" {
		return e.Hint
	}
	switch e.Kind {
	case ErrLoginRequired:
		return "run: ccproxy-tui auth login " + e.Provider
	case ErrTransient:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("will retry; the server asked to wait %s", e.RetryAfter.Round(time.Second))
		}
		return "will retry"
	case ErrMisconfigured:
		return "check [providers." + e.Provider + "] in the config"
	}
	return ""
}

// Unwrap exposes the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the error's Kind, so errors.Is(err, ErrLoginRequired) works
// through any amount of wrapping.
func (e *Error) Is(target error) bool { return target != nil && target == e.Kind }
