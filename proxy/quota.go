package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// modifyResponse notes the upstream response's header for readQuota and
// wraps its body in the usage counter (countUsage). It only keeps a
// reference and a wrapper: nothing is parsed or copied before the first
// byte reaches the client.
func (s *Server) modifyResponse(resp *http.Response) error {
	if x, ok := resp.Request.Context().Value(exchangeKey{}).(*exchange); ok {
		x.upstream = resp.Header
		x.countUsage(resp)
		x.captureResponse(resp)
	}
	return nil
}

// readQuota reads the quota headers of the response x relayed, once the
// response has ended; nil when it had none or they repeat the route's last
// reading within the second (both cost no allocation).
func (s *Server) readQuota(x *exchange, at time.Time) *quota.Snapshot {
	if x.upstream == nil {
		return nil
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) && quota.Present(x.upstream) {
		if bad := quota.Malformed(x.upstream); len(bad) > 0 {
			s.log.Debug("proxy: quota header values skipped, they do not parse", "provider", x.route.name, "values", bad)
		}
	}
	q, ok := x.route.quota.Next(x.account, x.upstream, at)
	if !ok {
		return nil
	}
	out := q // declared here, so only a response with quota pays for the heap copy
	out.Provider, out.Account = x.route.name, x.account
	return &out
}

// reroute applies rr to the path and, when the client sent an escaped form
// of it, to that form alike (the rerouted prefixes are plain ASCII, so the
// same cut fits both).
func reroute(rr Rerouter, base *url.URL, rest, raw string) (*url.URL, string, string) {
	nb, nrest := rr.Reroute(base, rest)
	if nrest != rest && raw != "" {
		_, raw = rr.Reroute(base, raw)
	}
	return nb, nrest, raw
}
