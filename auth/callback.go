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
	"sync"
	"syscall"
	"time"
)

// callbackResult is what the first valid callback delivered.
type callbackResult struct {
	params callbackParams
	err    *Error // state mismatch or provider error
}

// callbackServer answers the provider's redirect on 127.0.0.1. Only the
// first callback carrying a code or an error completes the login; anything
// else (favicon, stray requests, a second callback) gets a page and is
// otherwise ignored.
type callbackServer struct {
	provider string
	path     string
	state    string
	srv      *http.Server
	ln       net.Listener
	served   chan struct{} // closed when Serve has returned
	results  chan callbackResult
	once     sync.Once // guards delivery of the first result
	closed   sync.Once // guards shutdown
}

// listenLoopback binds 127.0.0.1 on port, or on the first free fallback.
// Every port busy → an *Error wrapping ErrPortInUse.
func listenLoopback(provider string, port int, fallbacks []int) (net.Listener, error) {
	ports := []int{port}
	if port != 0 {
		ports = append(ports, fallbacks...)
	}
	var lastErr error
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			return ln, nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if errors.Is(lastErr, syscall.EADDRINUSE) {
		return nil, &Error{Provider: provider, Op: "login", Kind: ErrTransient,
			Err:  fmt.Errorf("%w: port %s on 127.0.0.1 is used by another program", ErrPortInUse, portList(ports)),
			Hint: "close the program using it, or log in with --paste or --device"}
	}
	return nil, &Error{Provider: provider, Op: "login", Kind: ErrMisconfigured,
		Err: fmt.Errorf("listen for the callback: %v", lastErr)}
}

func portList(ports []int) string {
	s := ""
	for i, p := range ports {
		if i > 0 {
			s += ", "
		}
		s += strconv.Itoa(p)
	}
	return s
}

// startCallback serves path on ln until close.
func startCallback(provider string, ln net.Listener, path, state string) *callbackServer {
	cb := &callbackServer{
		provider: provider,
		path:     path,
		state:    state,
		ln:       ln,
		served:   make(chan struct{}),
		results:  make(chan callbackResult, 1),
	}
	cb.srv = &http.Server{
		Handler:           cb,
		ReadHeaderTimeout: 10 * time.Second,
		// net/http would log odd client behaviour to stderr, over a TUI.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(cb.served)
		_ = cb.srv.Serve(ln)
	}()
	return cb
}

// close frees the port at once and waits for the server goroutine to end.
func (cb *callbackServer) close() {
	cb.closed.Do(func() {
		_ = cb.srv.Close()
		<-cb.served
	})
}

func (cb *callbackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	if r.URL.Path != cb.path {
		page(w, http.StatusNotFound, "Not found", "This address is only the login callback.")
		return
	}
	params, err := parseCallbackQuery(r.URL.Query())
	if err != nil {
		page(w, http.StatusBadRequest, "No authorization code",
			"This page expects the provider's redirect. Return to the terminal.")
		return
	}
	res := callbackResult{params: params}
	status, title, body := http.StatusOK, "Logged in",
		"ccproxy-tui received the authorization. You can close this tab and return to the terminal."
	switch {
	case params.State != cb.state && (params.Error == "" || params.State != ""):
		res.err = stateMismatch(cb.provider)
		status, title, body = http.StatusBadRequest, "Login failed",
			"This response does not belong to the login in progress, so it was not used. Start the login again."
	case params.Error != "":
		res.err = providerError(cb.provider, params)
		status, title, body = http.StatusOK, "Login failed", "The provider said: "+res.err.Err.Error()+
			". Return to the terminal for the next step."
	}
	delivered := false
	cb.once.Do(func() {
		delivered = true
	})
	if !delivered {
		page(w, http.StatusConflict, "Already finished",
			"This login already received its answer. Return to the terminal.")
		return
	}
	page(w, status, title, body)
	_ = http.NewResponseController(w).Flush()
	cb.results <- res
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
}
