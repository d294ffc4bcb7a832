package auth

import (
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
)

// pageWait bounds how long the callback page waits for the code exchange
// before it tells the browser to look at the terminal instead.
const pageWait = 30 * time.Second

// callbackResult is what the first callback carrying the login's own state
// delivered. Wait answers on outcome once the login is decided, and the
// page the browser sees says the same.
type callbackResult struct {
	params  callbackParams
	err     *Error // provider error or issuer mismatch
	outcome chan error
}

// callbackServer answers the provider's redirect on the loopback addresses
// the redirect URL names. Only a callback carrying the login's state
// completes the login; anything else (favicon, stray requests, a forged
// callback with a wrong or missing state, a second callback) gets a page and
// is otherwise ignored, so a stranger who reaches the port cannot end the
// login.
type callbackServer struct {
	cfg    *Config
	path   string
	state  string
	clock  clockwork.Clock
	srv    *http.Server
	lns    []net.Listener
	served chan struct{} // closed when every Serve has returned
	done   chan struct{} // closed by close: handlers stop waiting
	// results holds the one delivered callback.
	results chan callbackResult
	once    sync.Once // guards delivery of the first result
	closed  sync.Once // guards shutdown
}

// listenFamilies says which loopback addresses a redirect host needs: the
// browser resolves "localhost" to ::1 or 127.0.0.1 as it likes, so both are
// bound; a literal address is bound alone.
func listenFamilies(host string) []string {
	switch host {
	case "::1":
		return []string{"::1"}
	case "localhost":
		return []string{"127.0.0.1", "::1"}
	}
	return []string{"127.0.0.1"}
}

// listenLoopback binds every address of host on port, or on the first free
// fallback. A port another program holds on any of them is busy: the
// browser could reach that program instead of us. An address family this
// machine lacks (no IPv6) is skipped for localhost. Every port busy → an
// *Error wrapping ErrPortInUse that names the ports and what to do.
func (c *Config) listenLoopback(host string, port int, fallbacks []int) ([]net.Listener, error) {
	ports := []int{port}
	if port != 0 {
		ports = append(ports, fallbacks...)
	}
	families := listenFamilies(host)
	var lastErr error
	for _, p := range ports {
		tries := 1
		if p == 0 {
			tries = 5 // a random port free on 127.0.0.1 may be taken on ::1
		}
		for range tries {
			lns, err := bindAll(families, p, host == "localhost")
			if err == nil {
				return lns, nil
			}
			lastErr = err
			if !errors.Is(err, syscall.EADDRINUSE) {
				break
			}
		}
		if !errors.Is(lastErr, syscall.EADDRINUSE) {
			break
		}
	}
	if errors.Is(lastErr, syscall.EADDRINUSE) {
		return nil, c.portInUse(host, ports)
	}
	return nil, &Error{Provider: c.Provider, Op: "login", Kind: ErrMisconfigured,
		Err: fmt.Errorf("listen for the callback: %v", lastErr)}
}

// bindAll listens on every address in families at port (0: the port the
// first one got). optionalV6 skips ::1 when the machine has no IPv6.
func bindAll(families []string, port int, optionalV6 bool) ([]net.Listener, error) {
	var lns []net.Listener
	fail := func(err error) ([]net.Listener, error) {
		for _, ln := range lns {
			_ = ln.Close()
		}
		return nil, err
	}
	for _, addr := range families {
		network := "tcp4"
		if strings.Contains(addr, ":") {
			network = "tcp6"
		}
		ln, err := net.Listen(network, net.JoinHostPort(addr, strconv.Itoa(port)))
		if err != nil {
			if network == "tcp6" && optionalV6 && !errors.Is(err, syscall.EADDRINUSE) {
				continue // no IPv6 loopback here; the browser cannot use it either
			}
			return fail(err)
		}
		lns = append(lns, ln)
		port = ln.Addr().(*net.TCPAddr).Port
	}
	return lns, nil
}

// portInUse is the error for a fixed callback port another program holds.
// It never suggests reusing the same redirect: whatever holds the port
// would receive the code.
func (c *Config) portInUse(host string, ports []int) *Error {
	var opts []string
	opts = append(opts, "close the program listening there and try again")
	if c.PasteRedirectURL != "" {
		opts = append(opts, "log in with --paste (the provider's own page shows the code)")
	}
	if c.offersDevice() {
		opts = append(opts, "log in with --device")
	}
	opts = append(opts, "or set providers."+c.Provider+".redirect_url to a port the provider accepts")
	which := "port " + portList(ports)
	if len(ports) > 1 {
		which = "ports " + portList(ports)
	}
	return &Error{Provider: c.Provider, Op: "login", Kind: ErrTransient,
		Err:  fmt.Errorf("%w: %s on %s is held by another program, which would receive the login's code", ErrPortInUse, which, host),
		Hint: strings.Join(opts, "; ")}
}

func portList(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}

// startCallback serves path on lns until close.
func (c *Config) startCallback(lns []net.Listener, path, state string) *callbackServer {
	cb := &callbackServer{
		cfg:     c,
		path:    path,
		state:   state,
		clock:   c.clock(),
		lns:     lns,
		served:  make(chan struct{}),
		done:    make(chan struct{}),
		results: make(chan callbackResult, 1),
	}
	cb.srv = &http.Server{
		Handler:           cb,
		ReadHeaderTimeout: 10 * time.Second,
		// net/http would log odd client behaviour to stderr, over a TUI.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = cb.srv.Serve(ln)
		}()
	}
	go func() {
		wg.Wait()
		close(cb.served)
	}()
	return cb
}

// stopAccepting closes the listeners, freeing the port, while a callback
// being answered keeps its connection until its page is written.
func (cb *callbackServer) stopAccepting() {
	for _, ln := range cb.lns {
		_ = ln.Close()
	}
}

// close frees the port at once, cuts every connection and waits for the
// server goroutines to end.
func (cb *callbackServer) close() {
	cb.closed.Do(func() {
		close(cb.done)
		_ = cb.srv.Close()
		<-cb.served
	})
}

// finish lets the page being written reach the browser (bounded), then
// closes.
func (cb *callbackServer) finish() {
	cb.stopAccepting()
	timer := cb.clock.NewTimer(5 * time.Second)
	defer timer.Stop()
	idle := make(chan struct{})
	go func() {
		defer close(idle)
		// Shutdown waits for the handler; close below ends it if it hangs.
		ctx, cancel := contextDone(cb.done)
		defer cancel()
		_ = cb.srv.Shutdown(ctx)
	}()
	select {
	case <-idle:
	case <-timer.Chan():
	}
	cb.close()
	<-idle
}

func (cb *callbackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	if r.URL.Path != cb.path {
		page(w, http.StatusNotFound, "Not found", "This address is only the login callback.")
		return
	}
	params, err := parseCallbackQuery(r.URL.Query())
	if err != nil && params.State == "" {
		page(w, http.StatusBadRequest, "No authorization code",
			"This page expects the provider's redirect. Return to the terminal.")
		return
	}
	if params.State != cb.state {
		// Not this login's answer: a stale tab, another login, or someone
		// else on this machine. It decides nothing; the login keeps waiting.
		page(w, http.StatusBadRequest, "Not this login",
			"This response does not belong to the login in progress, so it was ignored. "+
				"The login is still waiting for the provider's answer.")
		return
	}
	if err != nil {
		page(w, http.StatusBadRequest, "No authorization code",
			"This page expects the provider's redirect. Return to the terminal.")
		return
	}
	res := callbackResult{params: params, outcome: make(chan error, 1)}
	if ierr := cb.cfg.checkIssuer(params); ierr != nil {
		res.err = ierr
	} else if params.Error != "" {
		res.err = providerError(cb.cfg.Provider, params)
	}
	delivered := false
	cb.once.Do(func() {
		delivered = true
		cb.results <- res
	})
	if !delivered {
		page(w, http.StatusConflict, "Already finished",
			"This login already received its answer. Return to the terminal.")
		return
	}
	timer := cb.clock.NewTimer(pageWait)
	defer timer.Stop()
	select {
	case err := <-res.outcome:
		if err == nil {
			page(w, http.StatusOK, "Logged in",
				"ccproxy-tui is logged in. You can close this tab and return to the terminal.")
			return
		}
		page(w, http.StatusOK, "Login failed", failureText(err)+" Return to the terminal for the next step.")
	case <-timer.Chan():
		page(w, http.StatusOK, "Still finishing",
			"ccproxy-tui received the answer and is still finishing the login. Return to the terminal to see how it ended.")
	case <-cb.done:
		page(w, http.StatusOK, "Login stopped", "The login was stopped in the terminal.")
	case <-r.Context().Done():
	}
}

// failureText is what the page says about err: its message, escaped for a
// terminal and for HTML alike (page escapes HTML).
func failureText(err error) string {
	msg := termsafe.Line(err.Error())
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return "The login failed: " + msg
}

// page writes a small self-contained HTML page (no external assets).
func page(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ccproxy-tui: %[1]s</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}@media(prefers-color-scheme:dark){body{background:#111;color:#ddd}}</style>
</head><body><h1>%[1]s</h1><p>%[2]s</p></body></html>
`, html.EscapeString(title), html.EscapeString(body))
	_ = http.NewResponseController(w).Flush()
}
