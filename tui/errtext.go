package tui

import (
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
)

// cliAdvice matches the next step auth writes for the command line, which
// the dashboard says with its own key instead.
var cliAdvice = regexp.MustCompile(`[;,]? ?\(?(then )?run: ccproxy-tui auth login [^\s);]+( --account [^\s);]+)?\)?`)

// describe is the one line the dashboard shows for a failed operation:
// what failed, the cause once (however many layers wrapped it), and the
// key that helps next.
func (m Model) describe(op, provider string, err error) string {
	if errors.Is(err, auth.ErrCancelled) {
		return op + " " + provider + " cancelled"
	}
	code, cause := rootCause(err)
	for _, prefix := range []string{op + " " + provider + ": ", "login " + provider + ": ", "refresh " + provider + ": "} {
		for strings.HasPrefix(cause, prefix) {
			cause = strings.TrimPrefix(cause, prefix)
		}
	}
	text := op + " " + provider + " failed"
	if c := joinCause(code, cause); c != "" {
		text += ": " + c
	}
	if next := m.nextStep(provider, err, false); next != "" {
		text += " — " + next
	}
	return termsafe.Line(text)
}

// eventCause is the cause of a background failure (an auth event) with
// the key that helps; the scheduler retries transient ones by itself.
func (m Model) eventCause(provider string, err error) string {
	text := joinCause(rootCause(err))
	if next := m.nextStep(provider, err, true); next != "" {
		text += " — " + next
	}
	return termsafe.Line(text)
}

func joinCause(code, cause string) string {
	switch {
	case code == "" || strings.HasPrefix(cause, code):
		return cause
	case cause == "":
		return code
	}
	return code + ": " + cause
}

// rootCause walks down through every auth.Error to the first cause that is
// not one, so each layer's "op provider:" and advice are left behind. The
// OAuth error code comes from whichever layer knew it.
func rootCause(err error) (code, cause string) {
	var ae *auth.Error
	e := err
	for errors.As(e, &ae) {
		if code == "" {
			code = ae.Code
		}
		if ae.Err == nil {
			return code, ""
		}
		e = ae.Err
	}
	return code, strings.TrimSpace(cliAdvice.ReplaceAllString(e.Error(), ""))
}

// nextStep names the dashboard key that helps after err.
func (m Model) nextStep(provider string, err error, background bool) string {
	switch {
	case errors.Is(err, auth.ErrLoginRequired):
		return m.loginAdvice(provider)
	case errors.Is(err, auth.ErrTransient) && background:
		return "retrying by itself; r tries now"
	case errors.Is(err, auth.ErrTransient):
		return "check the network; r tries again"
	case errors.Is(err, auth.ErrMisconfigured):
		return "check [providers." + provider + "] in the config"
	case errors.Is(err, auth.ErrPortInUse):
		others := slices.DeleteFunc(slices.Clone(m.flows(provider)), func(f auth.Flow) bool { return f == auth.FlowBrowser })
		return "the callback port is taken; " + m.offerText(others)
	}
	return ""
}

// loginAdvice names the key that logs provider in again.
func (m Model) loginAdvice(provider string) string {
	return strings.Replace(m.offerText(m.flows(provider)), "use ", "log in again with ", 1)
}

// keyAdvice rewrites the command-line advice in a message from auth (a
// status reason, an event) into the dashboard's key.
func (m Model) keyAdvice(provider, text string) string {
	if !cliAdvice.MatchString(text) {
		return text
	}
	return strings.TrimSpace(cliAdvice.ReplaceAllString(text, "")) + " — " + m.offerText(m.flows(provider))
}
