package proxy

import (
	"sync/atomic"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// Event is published once per proxied request, when it ends, for the
// dashboard's activity log. Path never includes the query: it could hold secrets.
type Event struct {
	Time     time.Time
	Provider string // route name; "" for requests that matched no provider
	Method   string
	Path     string
	Status   int // StatusClientClosed when the client went away first
	Duration time.Duration
	Bytes    int64 // response body bytes written to the client
	Retried  bool  // the upstream said 401 and the request was retried after a refresh
	// Quota is what the response's quota headers said (any provider
	// family, errors and 429s included), nil when it carried none or only
	// repeated the route's last reading within the second.
	Quota *quota.Snapshot

	// Account is the account the request used; "" is the provider's one login.
	Account string
	// FailoverFrom is the account whose usage limit was reached when the
	// request was sent again on Account (failover = true); "" otherwise.
	// That first answer is an Event of its own.
	FailoverFrom string
	// Model is the "model" the client's request body named ("" if none).
	Model string
	// TTFB is the time until the first response byte went to the client.
	TTFB time.Duration
	// BytesIn is the request body's size.
	BytesIn int64
	// ErrorKind says why a request failed (see exchange.errorKind); "" on success.
	ErrorKind string
	// Usage is the token usage the response reported, as far as it was
	// read (a stream the client abandoned keeps what passed); UsageSeen
	// says whether the response reported any.
	Usage     usage.Tokens
	UsageSeen bool
	// Capture is the exchange's headers and bodies, only with
	// Options.KeepBodies; nil otherwise.
	Capture *Capture
}

// StatusClientClosed is the Event status of a request whose client
// disconnected before the response ended (nginx's convention).
const StatusClientClosed = 499

// Counters are the proxy's running totals since New; Stop and Start keep them.
type Counters struct {
	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors"`  // responses with status >= 400, and aborted ones
	Retries  int64         `json:"retries"` // requests retried after a forced refresh
	Bytes    int64         `json:"bytes"`
	InFlight int64         `json:"in_flight"`
	Dropped  int64         `json:"dropped_events"` // events a slow subscriber missed
	Uptime   time.Duration `json:"-"`              // since the last Start (since New before any)
	// UptimeSeconds is Uptime for JSON readers.
	UptimeSeconds int64 `json:"uptime_seconds"`
}

type stats struct {
	requests, errors, retries, bytes, inFlight atomic.Int64
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Counters {
	up := s.clock.Since(time.Unix(0, s.started.Load()))
	return Counters{
		Requests:      s.stats.requests.Load(),
		Errors:        s.stats.errors.Load(),
		Retries:       s.stats.retries.Load(),
		Bytes:         s.stats.bytes.Load(),
		InFlight:      s.stats.inFlight.Load(),
		Dropped:       int64(s.events.Dropped() + s.quotas.Dropped()),
		Uptime:        up,
		UptimeSeconds: int64(up / time.Second),
	}
}

// Subscribe returns a channel of request events buffered to size (min 1) and
// a cancel func that unsubscribes and closes the channel. Events a slow
// reader cannot take are dropped (see Counters.Dropped), never waited for.
func (s *Server) Subscribe(size int) (<-chan Event, func()) { return s.events.Subscribe(size) }

// publish hands a finished request to the ledger (Options.Record), its
// quota reading to SubscribeQuota's readers and the event to Subscribe's.
func (s *Server) publish(ev Event) {
	if s.opts.Record != nil {
		s.opts.Record(ev)
	}
	if ev.Quota != nil {
		s.quotas.Publish(*ev.Quota)
	}
	s.events.Publish(ev)
}

// SubscribeQuota is Subscribe for the quota readings alone: each new
// reading a response brought (Event.Quota when it is set), so that a
// reader keeping the quota is not woken by every request. Readings a slow
// reader cannot take count as dropped events.
func (s *Server) SubscribeQuota(size int) (<-chan quota.Snapshot, func()) {
	return s.quotas.Subscribe(size)
}
