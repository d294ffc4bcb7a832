package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// maxPasted bounds what a paste may hold; real codes and redirect URLs are
// far shorter.
const maxPasted = 8 << 10

// callbackParams is what an authorization response carries, from the
// loopback callback's query or from what the user pasted.
type callbackParams struct {
	Code             string
	State            string
	Error            string
	ErrorDescription string
	// Iss is the RFC 9207 issuer identifier, when the server sent one.
	Iss string
	// query is set when the response came as a query (a callback or a
	// pasted address), where a server that promises iss must send it.
	query bool
}

// errNoCode means the text holds neither a code nor an OAuth error.
var errNoCode = errors.New("no authorization code found")

// parseCallbackQuery reads code, state, iss, error and error_description.
// On a failure the state is still returned, so the caller can tell a
// malformed answer to this login from one to some other login.
func parseCallbackQuery(q url.Values) (callbackParams, error) {
	for _, k := range []string{"code", "state", "iss", "error"} {
		if len(q[k]) > 1 {
			// RFC 6749 §3.1: a parameter must not repeat; which copy a
			// check reads would otherwise be the attacker's choice.
			return callbackParams{}, fmt.Errorf("the response repeats %s", k)
		}
	}
	p := callbackParams{
		Code:             strings.TrimSpace(q.Get("code")),
		State:            strings.TrimSpace(q.Get("state")),
		Error:            strings.TrimSpace(q.Get("error")),
		ErrorDescription: strings.TrimSpace(q.Get("error_description")),
		Iss:              strings.TrimSpace(q.Get("iss")),
		query:            true,
	}
	if p.Error != "" {
		return p, nil
	}
	if p.Code == "" {
		return callbackParams{State: p.State}, errNoCode
	}
	if !plausibleCode(p.Code) {
		return callbackParams{State: p.State}, errors.New("the code contains spaces or control characters")
	}
	return p, nil
}

// parsePasted reads what a user pasted after a paste login: the bare code,
// CODE#STATE (Claude's hosted page), a query string, or the whole redirect
// URL the browser failed to load. Surrounding whitespace and quotes are
// removed first.
func parsePasted(s string) (callbackParams, error) {
	s = trimPasted(s)
	if s == "" {
		return callbackParams{}, errNoCode
	}
	if len(s) > maxPasted {
		return callbackParams{}, errors.New("the pasted text is too long to be a code")
	}
	if strings.Contains(s, "://") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "?") {
		u, err := url.Parse(s)
		if err != nil {
			return callbackParams{}, errors.New("the pasted address does not parse")
		}
		p, err := parseCallbackQuery(u.Query())
		if errors.Is(err, errNoCode) && u.Fragment != "" {
			// Some hosted pages put the response in the fragment.
			if q, ferr := url.ParseQuery(u.Fragment); ferr == nil {
				return parseCallbackQuery(q)
			}
		}
		return p, err
	}
	if strings.Contains(s, "code=") || strings.Contains(s, "error=") {
		q, err := url.ParseQuery(s)
		if err != nil {
			return callbackParams{}, errors.New("the pasted text does not parse")
		}
		return parseCallbackQuery(q)
	}
	code, state, _ := strings.Cut(s, "#")
	p := callbackParams{Code: strings.TrimSpace(code), State: strings.TrimSpace(state)}
	if p.Code == "" {
		return callbackParams{}, errNoCode
	}
	if !plausibleCode(p.Code) || !plausibleCode(p.State) {
		return callbackParams{}, errors.New("the code contains spaces or control characters")
	}
	return p, nil
}

// trimPasted strips whitespace and one or more layers of matching quotes.
func trimPasted(s string) string {
	for {
		s = strings.TrimSpace(s)
		if len(s) >= 2 {
			first, last := s[0], s[len(s)-1]
			if first == last && (first == '"' || first == '\'' || first == '`') {
				s = s[1 : len(s)-1]
				continue
			}
		}
		return s
	}
}

// plausibleCode rejects text a terminal paste may have mangled.
func plausibleCode(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// PasteLogin is a login finished by pasting the code the provider shows (or
// the address the browser failed to load). It listens on nothing.
type PasteLogin struct {
	cfg  *Config
	auth authorization
}

// StartPaste prepares a pasted-code login. The authorize URL redirects to
// PasteRedirectURL when the provider has a hosted code page, else to the
// loopback RedirectURL (a port of 0 becomes a currently free port, so the
// code does not land on some other local server).
func (c *Config) StartPaste(ctx context.Context) (*PasteLogin, error) {
	redirect := c.PasteRedirectURL
	if redirect == "" {
		var err error
		if redirect, err = c.pasteLoopback(); err != nil {
			return nil, c.classify(ctx, "login", err)
		}
	} else if err := checkURL("paste redirect URL", redirect); err != nil {
		return nil, c.classify(ctx, "login", err)
	}
	a, err := c.authorize(redirect)
	if err != nil {
		return nil, c.classify(ctx, "login", err)
	}
	return &PasteLogin{cfg: c, auth: a}, nil
}

// pasteLoopback is the loopback redirect of a paste login. Nothing listens
// there, so the browser fails to load it and the user pastes the address;
// but a port another program holds would receive the code first, so a busy
// fixed port is refused as StartBrowser refuses it.
func (c *Config) pasteLoopback() (string, error) {
	u, port, err := c.loopback()
	if err != nil {
		return "", err
	}
	lns, err := c.listenLoopback(u.Hostname(), port, nil)
	if err != nil {
		return "", err
	}
	port = lns[0].Addr().(*net.TCPAddr).Port
	for _, ln := range lns {
		_ = ln.Close()
	}
	return withPort(u, port), nil
}

// URL is the authorize URL to show (and open) for the user.
func (p *PasteLogin) URL() string { return p.auth.url }

// Complete parses what the user pasted, checks its state whenever one is
// present, exchanges the code and returns complete credentials. It may be
// called again after a parse error (a typo); a code the provider refused is
// spent, so start a new login then.
func (p *PasteLogin) Complete(ctx context.Context, pasted string) (Credentials, error) {
	c := p.cfg
	res, err := parsePasted(pasted)
	if err != nil {
		return Credentials{}, &Error{Provider: c.Provider, Op: "login", Kind: ErrLoginRequired, Err: err,
			Hint: "paste the code shown by the provider's page, or the whole address of the page"}
	}
	if res.State != "" && res.State != p.auth.state {
		return Credentials{}, stateMismatch(c.Provider)
	}
	if err := c.checkIssuer(res); err != nil {
		return Credentials{}, err
	}
	if res.Error != "" {
		return Credentials{}, providerError(c.Provider, res)
	}
	tok, err := c.exchange(ctx, CodeExchange{
		Code:        res.Code,
		Verifier:    p.auth.verifier,
		RedirectURL: p.auth.redirectURL,
		State:       p.auth.state,
	})
	if err != nil {
		return Credentials{}, err
	}
	return c.login(ctx, tok)
}

// stateMismatch is the error for a response that belongs to another login
// (or to an attacker): its code is never exchanged.
func stateMismatch(provider string) *Error {
	return &Error{Provider: provider, Op: "login", Kind: ErrLoginRequired, Code: "state_mismatch",
		Err:  errors.New("the response does not belong to this login (state mismatch); its code was not used"),
		Hint: "start a new login: ccproxy-tui auth login " + provider}
}

// checkIssuer applies RFC 9207: an authorization response that names an
// issuer must name this provider's, and a server that advertises
// authorization_response_iss_parameter_supported must name one. A response
// from another issuer is a mix-up attack's signature; its code is never
// exchanged.
func (c *Config) checkIssuer(p callbackParams) *Error {
	switch {
	case p.Iss != "" && c.Issuer != "" && strings.TrimRight(p.Iss, "/") != strings.TrimRight(c.Issuer, "/"):
		return &Error{Provider: c.Provider, Op: "login", Kind: ErrLoginRequired, Code: "issuer_mismatch",
			Err: fmt.Errorf("the response names issuer %q, not %q, so its code was not used (RFC 9207)",
				cleanCode(p.Iss), c.Issuer),
			Hint: "start a new login: ccproxy-tui auth login " + c.Provider}
	case p.Iss == "" && p.query && c.IssuerInResponse:
		return &Error{Provider: c.Provider, Op: "login", Kind: ErrLoginRequired, Code: "issuer_missing",
			Err:  fmt.Errorf("the response names no issuer, though %s promises one (RFC 9207), so its code was not used", c.Issuer),
			Hint: "start a new login: ccproxy-tui auth login " + c.Provider}
	}
	return nil
}

// providerError turns an authorization error response (access_denied …)
// into an *Error.
func providerError(provider string, res callbackParams) *Error {
	ee := &endpointError{Code: cleanCode(res.Error), Description: scrub(res.ErrorDescription)}
	e := &Error{Provider: provider, Op: "login", Code: ee.Code, Kind: kindOf(ee)}
	msg := "the provider refused the login"
	if ee.Description != "" {
		msg += ": " + ee.Description
	}
	e.Err = errors.New(msg)
	if res.Error == "access_denied" {
		e.Hint = "approve the request in the browser, then run: ccproxy-tui auth login " + provider
	}
	return e
}

// loopback parses RedirectURL (default http://127.0.0.1:0/callback) and
// checks that it points at this machine.
func (c *Config) loopback() (*url.URL, int, error) {
	raw := c.RedirectURL
	if raw == "" {
		raw = "http://127.0.0.1:0/callback"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return nil, 0, &configError{msg: fmt.Sprintf("redirect URL %q is not an http URL", raw)}
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
	default:
		return nil, 0, &configError{msg: fmt.Sprintf("redirect URL %q must be on localhost, 127.0.0.1 or [::1]", raw)}
	}
	port := 0
	if ps := u.Port(); ps != "" {
		if port, err = strconv.Atoi(ps); err != nil || port < 0 || port > 65535 {
			return nil, 0, &configError{msg: fmt.Sprintf("redirect URL %q has a bad port", raw)}
		}
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, port, nil
}

// withPort returns u with its port replaced, keeping the host name the
// provider registered (localhost stays localhost).
func withPort(u *url.URL, port int) string {
	v := *u
	v.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
	return v.String()
}
