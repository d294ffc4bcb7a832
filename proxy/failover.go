package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// Failover is implemented by an AccountSource whose provider may send a
// request again on another account when the first one's usage limit is
// reached (config failover = true). It is asked only then, never to
// spread load.
type Failover interface {
	// Fallback returns an account of the provider other than from that
	// has headroom by its latest quota data, and its token source; ok is
	// false when there is none (or failover is off).
	Fallback(ctx context.Context, from string) (account string, tokens TokenSource, ok bool)
}

// limitBody is how much of a 429 or 402 body is read to tell a reached
// usage limit from other refusals; the answers that say so are small.
const limitBody = 64 << 10

// failover sends a request once more on another account when the
// upstream says the account's usage limit is reached and the route's
// AccountSource offers one with headroom. The first answer is recorded
// as a request of its own (the ledger and the activity log show which
// account hit its limit); a second refusal goes back to the client as
// the provider sent it: one retry, never a loop.
type failover struct {
	s    *Server
	next http.RoundTripper
}

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusPaymentRequired) {
		return resp, err
	}
	x, ok := req.Context().Value(exchangeKey{}).(*exchange)
	if !ok || x.failoverFrom != "" {
		return resp, nil
	}
	fo, ok := x.route.accounts.(Failover)
	if !ok {
		return resp, nil
	}
	head, rerr := io.ReadAll(io.LimitReader(resp.Body, limitBody))
	// The client still gets the whole body when no retry happens.
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if rerr != nil || !limitReached(resp.StatusCode, resp.Header, head, f.s.clock.Now()) {
		return resp, nil
	}
	ctx := req.Context()
	account, tokens, ok := fo.Fallback(ctx, x.account)
	if !ok {
		return resp, nil
	}
	creds, err := tokens.Credentials(ctx)
	if err != nil || creds.AccessToken == "" {
		return resp, nil
	}
	base, err := x.route.target.BaseURL(creds)
	if err != nil {
		return resp, nil
	}
	_ = resp.Body.Close()
	f.s.recordLimit(x, req, resp)
	f.s.log.Info("proxy: usage limit reached; sending the request again on another account",
		"provider", x.route.name, "from", x.account, "to", account)

	x.failoverFrom, x.account, x.tokens, x.creds, x.base = x.account, account, tokens, creds, base
	return f.next.RoundTrip(x.resend(req, base))
}

// readCloser reads from r and closes c.
type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error { return r.c.Close() }

// limitReached reports whether an upstream answer says the account's usage
// limit is reached (not a short burst limit): a quota status of
// "rejected" in its headers (Anthropic's
// anthropic-ratelimit-unified-status among them), Codex's
// usage_limit_reached error, or Copilot's 402 quota_exceeded.
func limitReached(status int, h http.Header, body []byte, now time.Time) bool {
	switch status {
	case http.StatusTooManyRequests:
		if strings.EqualFold(h.Get("Anthropic-Ratelimit-Unified-Status"), "rejected") ||
			bytes.Contains(body, []byte(`"usage_limit_reached"`)) {
			return true
		}
		q, ok := quota.ReadHeaders(h, now)
		return ok && q.Rejected()
	case http.StatusPaymentRequired:
		return bytes.Contains(body, []byte(`"quota_exceeded"`))
	}
	return false
}

// recordLimit publishes the attempt that met the usage limit as a request
// of its own, on the account that answered it, with that answer's quota,
// so the ledger, the quota meters and the activity log all see it.
func (s *Server) recordLimit(x *exchange, req *http.Request, resp *http.Response) {
	ev := Event{
		Time:      x.start,
		Provider:  x.route.name,
		Account:   x.account,
		Method:    req.Method,
		Path:      x.clientPath,
		Status:    resp.StatusCode,
		Duration:  s.clock.Since(x.start),
		BytesIn:   int64(len(x.body)),
		ErrorKind: "usage_limit_reached",
	}
	if q, ok := quota.ReadHeaders(resp.Header, x.start); ok {
		q.Provider, q.Account = x.route.name, x.account
		ev.Quota = &q
	}
	if x.hasBody {
		ev.Model = usage.Model(x.body)
	}
	s.publish(ev)
}
