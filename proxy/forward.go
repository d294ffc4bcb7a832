package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/accounts"
	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// route is one /<name>/ prefix and the provider behind it.
type route struct {
	name     string
	target   Target
	tokens   TokenSource
	accounts AccountSource
	format   string
	// quota reads the responses' quota headers, passing on only what is
	// new.
	quota quota.Reader
}

// exchange is the state of one proxied request. It is the ResponseWriter the
// ReverseProxy writes to (recording status and bytes) and travels in the
// request context to Rewrite and the retrying transport.
type exchange struct {
	http.ResponseWriter
	route   *route
	account string // the provider's account serving the request, "" when it has none
	// failoverFrom is the account whose usage limit was reached when the
	// request was sent again on account.
	failoverFrom string
	// clientPath is the path the client asked for, for events.
	clientPath string
	tokens     TokenSource // the account's
	creds      auth.Credentials
	base       *url.URL
	rest       string // path after /<name>, e.g. "/v1/messages"
	restRaw    string // its escaped form when it differs (url.URL.RawPath)
	body       []byte // the buffered request body, replayed on retry
	hasBody    bool
	reader     bytes.Reader // reads body for the first attempt

	status  int
	bytes   int64
	retried bool
	aborted bool // the client went away before the response ended
	// idleCut is set when the upstream's body was cut for silence.
	idleCut atomic.Bool
	// ctx is the request's context as the ReverseProxy and the transports
	// see it: it carries the exchange and, with an idle timeout, ends
	// when the upstream falls silent (cancel).
	ctx      exchangeCtx
	cancel   context.CancelCauseFunc
	attempt  attempt  // the upstream attempt under the idle watch
	idleBody idleBody // its body, when it has headers

	// upstream is the final upstream response's header, kept (not
	// copied) so its quota can be read once the response has ended.
	upstream http.Header

	start    time.Time
	ttfb     time.Duration // until the first response byte went to the client
	since    func(time.Time) time.Duration
	errKind  string        // the code of an error the proxy answered itself
	counter  usage.Counter // reads the token usage of the upstream's body
	respBody *usage.Body   // the counted upstream body (&counted), nil when not counted
	counted  usage.Body
	capture  *Capture // headers and bodies, with Options.KeepBodies
}

type exchangeKey struct{}

// exchangeCtx is a request context that carries its exchange, held in the
// exchange itself: no context is allocated to find it.
type exchangeCtx struct {
	context.Context
	x *exchange
}

func (c *exchangeCtx) Value(key any) any {
	if key == (exchangeKey{}) {
		return c.x
	}
	return c.Context.Value(key)
}

func (x *exchange) WriteHeader(code int) {
	if x.status == 0 && code >= 200 {
		x.status = code
	}
	x.ResponseWriter.WriteHeader(code)
}

func (x *exchange) Write(p []byte) (int, error) {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	n, err := x.ResponseWriter.Write(p)
	if x.bytes == 0 && n > 0 && x.since != nil {
		x.ttfb = x.since(x.start)
	}
	x.bytes += int64(n)
	return n, err
}

// Flush lets the ReverseProxy push each server-sent event out at once.
func (x *exchange) Flush() {
	if f, ok := x.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(x.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController access to the connection's writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

func (s *Server) newReverseProxy(tr http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        s.rewrite,
		ModifyResponse: s.modifyResponse,
		Transport:      &failover{s: s, next: &retrier{next: tr, watch: s.idle}},
		ErrorHandler:   s.proxyError,
		BufferPool:     make(bufferPool, 256),
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// FlushInterval stays 0: the standard library already flushes
		// text/event-stream and unknown-length responses after every write.
	}
}

// serveHTTP is the whole proxy: the door, the own endpoints, the routes.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		s.serveHealth(w, r)
		return
	case "/status":
		s.serveStatus(w, r)
		return
	}
	start := s.clock.Now()
	s.stats.inFlight.Add(1)
	x := &exchange{ResponseWriter: w, start: start, since: s.clock.Since, clientPath: r.URL.Path}
	completed := false
	// Deferred so the event is published even when the ReverseProxy aborts a
	// stream the client left (it panics with http.ErrAbortHandler).
	defer func() { s.finish(x, r, start, completed) }()

	name, rest := splitRoute(r.URL.Path)
	provider, account, named := strings.Cut(name, "@")
	if named && account == "" {
		account = "@" // "/claude@/" names no account: unknown, not the active one
	}
	x.route = s.routes[provider]
	format := ""
	if x.route != nil {
		format = x.route.format
	}
	if e := s.checkDoor(r, true); e != nil {
		writeError(x, format, apiError{status: e.status, kind: doorKind(e.status), code: doorCode(e), msg: e.msg})
		completed = true
		return
	}
	if x.route == nil {
		s.notFound(x, name)
		completed = true
		return
	}
	s.forward(x, r, rest, account)
	completed = true
}

// splitRoute splits "/claude/v1/messages" into "claude" and "/v1/messages".
func splitRoute(p string) (name, rest string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// loginAdvice is the next step for a provider with no usable login.
func (s *Server) loginAdvice(provider string) string {
	if s.opts.LoginAdvice != nil {
		return s.opts.LoginAdvice(provider)
	}
	return "run: ccproxy-tui auth login " + provider
}

func (s *Server) notFound(x *exchange, name string) {
	routes := make([]string, len(s.names))
	for i, n := range s.names {
		routes[i] = "/" + n + "/"
	}
	known := strings.Join(routes, ", ")
	if known == "" {
		known = "none configured"
	}
	msg := fmt.Sprintf("no provider route %q; known routes: %s", "/"+name+"/", known)
	if name == "" {
		msg = "this is the ccproxy-tui proxy: send API requests under a provider's route (" + known + "), and GET /status for its state"
	}
	writeError(x, "", apiError{
		status: http.StatusNotFound, kind: "invalid_request_error", code: "unknown_provider",
		msg: msg,
	})
}

// pickAccount sets the account (and its token source) that serves x:
// the one named, or the active one for "". It answers the request itself
// and returns false when there is none.
func (s *Server) pickAccount(x *exchange, r *http.Request, name string) bool {
	rt := x.route
	if rt.accounts == nil {
		if name != "" {
			s.unknownAccount(x, &accounts.UnknownError{Provider: rt.name, Account: name})
			return false
		}
		x.tokens = rt.tokens
		return true
	}
	account, tokens, err := rt.accounts.Account(r.Context(), name)
	var unknown *accounts.UnknownError
	switch {
	case errors.As(err, &unknown):
		s.unknownAccount(x, unknown)
		return false
	case err != nil:
		s.tokenError(x, r, err)
		return false
	}
	x.account, x.tokens = account, tokens
	return true
}

// unknownAccount answers a route to an account the provider does not
// have: 404 in the provider's error shape, listing its accounts.
func (s *Server) unknownAccount(x *exchange, e *accounts.UnknownError) {
	writeError(x, x.route.format, apiError{status: http.StatusNotFound, kind: "invalid_request_error", code: "unknown_account", msg: e.Error()})
}

func (s *Server) forward(x *exchange, r *http.Request, rest, account string) {
	rt := x.route
	if !s.pickAccount(x, r, account) {
		return
	}
	if r.ContentLength > s.opts.MaxBody {
		s.tooLarge(x)
		return
	}
	if hasDotDot(rest) {
		writeError(x, rt.format, apiError{status: http.StatusBadRequest, kind: "invalid_request_error", code: "bad_path", msg: "path must not contain .. segments"})
		return
	}
	ctx := r.Context()
	creds, err := x.tokens.Credentials(ctx)
	if err == nil && creds.AccessToken == "" {
		err = fmt.Errorf("%s: no access token: %w", rt.name, auth.ErrLoginRequired)
	}
	if err != nil {
		s.tokenError(x, r, err)
		return
	}
	base, err := rt.target.BaseURL(creds)
	if err != nil {
		s.log.Warn("proxy: provider API base", "provider", rt.name, "err", err)
		writeError(x, rt.format, apiError{status: http.StatusInternalServerError, kind: "api_error", code: "misconfigured",
			msg: fmt.Sprintf("%s: no usable API base URL: %v", rt.name, err)})
		return
	}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		clear := readDeadline(x.ResponseWriter, s.opts.BodyTimeout)
		body, err := readBody(r.Body, r.ContentLength, s.opts.MaxBody)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			// Past the deadline it stays: the server's attempt to drain
			// the rest of the body must fail at once, not wait for it.
			clear()
		}
		switch {
		case errors.Is(err, errTooLarge):
			s.tooLarge(x)
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Checked first: the server cancels the request's context
			// when a read fails, a deadline included.
			x.Header().Set("Connection", "close")
			writeError(x, rt.format, apiError{status: http.StatusRequestTimeout, kind: "invalid_request_error", code: "body_timeout",
				msg: fmt.Sprintf("the request body did not arrive within %s", s.opts.BodyTimeout)})
			return
		case err != nil && ctx.Err() != nil:
			x.aborted = true // the client left while sending; nobody to answer
			return
		case err != nil:
			writeError(x, rt.format, apiError{status: http.StatusBadRequest, kind: "invalid_request_error", code: "bad_body",
				msg: "could not read the request body: " + err.Error()})
			return
		}
		x.body, x.hasBody = body, true
		x.reader.Reset(body)
		r.Body = io.NopCloser(&x.reader)
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
	}
	if s.opts.KeepBodies {
		x.startCapture(r)
	}
	x.creds, x.base = creds, base
	x.rest = rest
	if r.URL.RawPath != "" {
		_, x.restRaw = splitRoute(r.URL.RawPath)
	}
	x.ctx = exchangeCtx{Context: ctx, x: x}
	if s.idle != nil {
		cctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		x.ctx.Context, x.cancel = cctx, cancel
	}
	s.rp.ServeHTTP(x, r.WithContext(&x.ctx))
}

// sendNow sends a finished answer of known length, so that the client has
// it before the rest of the bookkeeping (the event, the quota, the
// ledger's record) rather than once the handler returns. It is the write
// the server would make anyway, made sooner. An answer without a length is
// left for the server to frame.
func (x *exchange) sendNow() {
	if x.status == 0 || x.aborted || x.Header().Get("Content-Length") == "" {
		return
	}
	if f, ok := x.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var errTooLarge = errors.New("request body too large")

// readBody buffers the whole body, at most max bytes, so that a retry can
// send it again.
func readBody(body io.Reader, length, max int64) ([]byte, error) {
	if length > 0 {
		buf := make([]byte, length)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		return buf, nil
	}
	buf, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if int64(len(buf)) > max {
		return nil, errTooLarge
	}
	return buf, nil
}

func (s *Server) tooLarge(x *exchange) {
	writeError(x, x.route.format, apiError{status: http.StatusRequestEntityTooLarge, kind: "invalid_request_error", code: "request_too_large",
		msg: fmt.Sprintf("request body is larger than the proxy's limit of %d bytes", s.opts.MaxBody)})
}

func hasDotDot(p string) bool {
	if !strings.Contains(p, "..") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// rewrite points the outbound request at the provider: base path joined with
// the rest of the client's path, the query kept (ProxyRequest.SetURL), the
// client's credentials removed and the provider's token and headers set. No
// X-Forwarded-* or Forwarded header is sent: the provider has no use for the
// user's local addresses (the ReverseProxy already strips the client's).
func (s *Server) rewrite(pr *httputil.ProxyRequest) {
	x := pr.In.Context().Value(exchangeKey{}).(*exchange)
	x.point(pr.Out, x.base)
	x.decorate(pr.Out.Header)
	if x.hasBody {
		// The ReverseProxy wraps the body so that a failed round trip
		// cannot close the client's; this one is in memory and closes to
		// nothing. Given the bytes themselves, the transport sends headers
		// and body in one write rather than flushing the headers first
		// (one syscall less here, one read less upstream), and GetBody lets
		// it send them again on a fresh connection when a kept-alive one
		// turns out closed.
		pr.Out.Body = pr.In.Body
		pr.Out.GetBody = x.replay
	}
}

// replay is the buffered request body from its start, for another send.
func (x *exchange) replay() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(x.body)), nil
}

// point sets out's URL to base + the client's path after the route prefix.
func (x *exchange) point(out *http.Request, base *url.URL) {
	rest, raw := x.rest, x.restRaw
	if rr, ok := x.route.target.(Rerouter); ok {
		base, rest, raw = reroute(rr, base, rest, raw)
	}
	out.URL.Path, out.URL.RawPath = rest, raw
	(&httputil.ProxyRequest{Out: out}).SetURL(base)
	if rest == "" {
		// SetURL would append a slash to the base path for an empty rest.
		out.URL.Path, out.URL.RawPath = base.Path, base.RawPath
	}
}

func (x *exchange) decorate(h http.Header) {
	h.Del("Authorization")
	h.Del("X-Api-Key")
	h.Del("Cookie")
	h.Del("X-Real-Ip")
	// Compressed answers say nothing to the usage counter; without the
	// client's Accept-Encoding the transport negotiates gzip itself and
	// hands the body on inflated.
	h.Del("Accept-Encoding")
	x.route.target.Decorate(h, x.creds)
}

// retrier answers an upstream 401 by asking the token source to replace
// the rejected token (a refresh only when nobody has replaced it yet) and
// sending the buffered request once more with the new one. A second 401
// goes back to the client as it is; it never loops.
type retrier struct {
	next  http.RoundTripper
	watch *idleWatch // cuts silent attempts; nil: never
}

// refreshError carries a failed forced refresh to the ErrorHandler.
type refreshError struct{ err error }

func (e *refreshError) Error() string { return "forced refresh: " + e.err.Error() }
func (e *refreshError) Unwrap() error { return e.err }

func (t *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.send(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	x, ok := req.Context().Value(exchangeKey{}).(*exchange)
	if !ok || x.retried {
		return resp, nil
	}
	// Drain a little so the connection can be reused, then let it go.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	x.retried = true

	ctx := req.Context()
	creds, err := x.tokens.Rejected(ctx, x.creds.AccessToken)
	if err == nil && creds.AccessToken == "" {
		err = fmt.Errorf("%s: refresh gave no access token: %w", x.route.name, auth.ErrLoginRequired)
	}
	if err != nil {
		return nil, &refreshError{err: err}
	}
	base, err := x.route.target.BaseURL(creds)
	if err != nil {
		return nil, &refreshError{err: fmt.Errorf("%s API base: %w", x.route.name, err)}
	}
	x.creds = creds
	return t.send(x.resend(req, base))
}

// resend is req made again for another try: pointed at base, decorated
// with the exchange's credentials as they now stand, and carrying the
// buffered body from its start.
func (x *exchange) resend(req *http.Request, base *url.URL) *http.Request {
	again := req.Clone(req.Context())
	x.point(again, base)
	x.decorate(again.Header)
	again.Body = nil
	if x.hasBody {
		again.Body, _ = x.replay()
		again.GetBody = x.replay
	}
	return again
}

// proxyError is the ReverseProxy's one error path: the client left, a forced
// refresh failed, or the upstream could not be reached.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	x := w.(*exchange)
	// Checked first: the idle cut ends the request's context too, which
	// must not read as a client that left.
	var ierr *idleError
	if errors.As(err, &ierr) {
		s.log.Warn("proxy: upstream timed out", "provider", x.route.name, "host", x.base.Host, "err", ierr)
		writeError(x, x.route.format, apiError{status: http.StatusGatewayTimeout, kind: "api_error", code: "upstream_timeout",
			msg: fmt.Sprintf("%s API at %s: %v; the proxy gave up ([proxy] idle_timeout)", x.route.name, x.base.Host, ierr)})
		return
	}
	if r.Context().Err() != nil {
		x.aborted = true
		return
	}
	var rerr *refreshError
	if errors.As(err, &rerr) {
		s.tokenError(x, r, rerr.err)
		return
	}
	s.log.Warn("proxy: upstream unreachable", "provider", x.route.name, "host", x.base.Host, "err", scrubURLError(err))
	writeError(x, x.route.format, apiError{status: http.StatusBadGateway, kind: "api_error", code: "upstream_unreachable",
		msg: fmt.Sprintf("%s API at %s is unreachable: %v", x.route.name, x.base.Host, scrubURLError(err))})
}

// scrubURLError drops the URL (whose query could carry secrets) from a
// transport error, keeping the operation's cause.
func scrubURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// tokenError answers a failed credentials lookup or forced refresh.
func (s *Server) tokenError(x *exchange, r *http.Request, err error) {
	rt := x.route
	var aerr *auth.Error
	switch {
	case r.Context().Err() != nil:
		x.aborted = true
	case errors.Is(err, auth.ErrLoginRequired):
		advice := s.loginAdvice(rt.name)
		if x.account != "" && s.opts.LoginAdvice == nil {
			advice += " --account " + x.account
		}
		writeError(x, rt.format, apiError{status: http.StatusUnauthorized, kind: "authentication_error", code: "login_required",
			msg: fmt.Sprintf("ccproxy-tui has no usable %s login; %s", rt.name, advice)})
	case errors.Is(err, auth.ErrMisconfigured):
		s.log.Warn("proxy: credentials", "provider", rt.name, "err", err)
		writeError(x, rt.format, apiError{status: http.StatusInternalServerError, kind: "api_error", code: "misconfigured",
			msg: fmt.Sprintf("%s is misconfigured: %v", rt.name, err)})
	default:
		s.log.Warn("proxy: credentials", "provider", rt.name, "err", err)
		e := apiError{status: http.StatusServiceUnavailable, kind: "api_error", code: "refresh_unavailable",
			msg: fmt.Sprintf("%s token refresh failed for now, try again shortly: %v", rt.name, err)}
		if errors.As(err, &aerr) {
			e.retryAfter = aerr.RetryAfter
		}
		writeError(x, rt.format, e)
	}
}

// finish counts the request, sends its answer and publishes its Event;
// it never blocks.
func (s *Server) finish(x *exchange, r *http.Request, start time.Time, completed bool) {
	status := x.status
	switch {
	case x.idleCut.Load():
		status = http.StatusGatewayTimeout // the stream was cut for silence
	case x.upstreamCut(r):
		status = http.StatusBadGateway // the upstream broke off, the client did not
	case !completed || x.aborted:
		status = StatusClientClosed
	case status == 0:
		status = http.StatusOK // the server sends 200 for a handler that wrote nothing
	}
	// Counted before the answer goes, so that a client which has it sees
	// it in /status.
	s.stats.requests.Add(1)
	s.stats.bytes.Add(x.bytes)
	if status >= 400 {
		s.stats.errors.Add(1)
	}
	if x.retried {
		s.stats.retries.Add(1)
	}
	s.stats.inFlight.Add(-1)
	if completed {
		x.sendNow()
	}
	ev := Event{
		Time:      start,
		Method:    r.Method,
		Path:      r.URL.Path,
		Status:    status,
		Duration:  s.clock.Since(start),
		TTFB:      x.ttfb,
		Bytes:     x.bytes,
		BytesIn:   int64(len(x.body)),
		Retried:   x.retried,
		ErrorKind: x.errorKind(r, status),
	}
	if x.route != nil {
		ev.Provider, ev.Account, ev.FailoverFrom = x.route.name, x.account, x.failoverFrom
		ev.Quota = s.readQuota(x, start)
	}
	if x.hasBody {
		ev.Model = usage.Model(x.body)
	}
	if x.respBody != nil {
		x.counter.Finish()
		ev.Usage, ev.UsageSeen = x.counter.Tokens(), x.counter.Seen()
	}
	if x.capture != nil {
		x.capture.scrub(x.creds.AccessToken, x.creds.RefreshToken, x.creds.IDToken, s.opts.APIKey)
		ev.Capture = x.capture
	}
	s.publish(ev)
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "proxy request",
			slog.String("provider", ev.Provider), slog.String("method", ev.Method), slog.String("path", ev.Path),
			slog.Int("status", ev.Status), slog.Duration("duration", ev.Duration), slog.Int64("bytes", ev.Bytes),
			slog.Bool("retried", ev.Retried))
	}
}

// upstreamCut reports whether the upstream's body broke off while the
// client was still there to read it.
func (x *exchange) upstreamCut(r *http.Request) bool {
	return x.respBody != nil && x.respBody.Err() != nil && r.Context().Err() == nil
}

// errorKind names why a request failed, for the ledger: the code of the
// proxy's own answer, "upstream_cut" when the upstream's body broke off
// while the client was still reading, "client_closed" when the client left,
// "upstream" for an error status the upstream sent; "" for success.
func (x *exchange) errorKind(r *http.Request, status int) string {
	switch {
	case x.idleCut.Load():
		return "upstream_timeout"
	case x.upstreamCut(r):
		return "upstream_cut"
	case status == StatusClientClosed:
		return "client_closed"
	case x.errKind != "":
		return x.errKind
	case status >= 400:
		return "upstream"
	}
	return ""
}

func doorKind(status int) string {
	if status == http.StatusUnauthorized {
		return "authentication_error"
	}
	return "permission_error"
}

func doorCode(e *doorError) string {
	switch e {
	case errBadHost:
		return "host_not_allowed"
	case errBadOrigin:
		return "cross_site_request"
	default:
		return "invalid_api_key"
	}
}
