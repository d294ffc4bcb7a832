package quota

import (
	"net/http"
	"sync"
	"time"
)

// Reader is ReadHeaders for a stream of responses from one upstream: under
// load they repeat the same quota headers, so a response whose quota
// headers hash like the last one's (within a second, so that a reset given
// in seconds-from-now cannot drift) gets a copy of the last reading instead
// of a parse. The zero value is ready; it is safe for concurrent use.
type Reader struct {
	mu   sync.Mutex // guards sum, at, last
	sum  uint64
	at   time.Time
	last Snapshot
}

// reuseFor is how long a reading may be reused for identical headers.
const reuseFor = time.Second

// Read is ReadHeaders, remembering its answer. Like ReadHeaders it
// allocates nothing for a response without quota headers.
func (r *Reader) Read(h http.Header, now time.Time) (Snapshot, bool) {
	sum, any := quotaSum(h)
	if !any {
		return Snapshot{}, false
	}
	r.mu.Lock()
	if sum == r.sum && !r.at.IsZero() && now.Sub(r.at) >= 0 && now.Sub(r.at) < reuseFor {
		s := r.last
		r.mu.Unlock()
		s.ObservedAt = now.UTC()
		s.Windows = append([]Window(nil), s.Windows...)
		for i := range s.Windows {
			s.Windows[i].ObservedAt = s.ObservedAt
		}
		return s, true
	}
	r.mu.Unlock()
	s, ok := ReadHeaders(h, now)
	if !ok {
		return s, false
	}
	r.mu.Lock()
	r.sum, r.at, r.last = sum, now, s
	r.mu.Unlock()
	return s, true
}

// quotaSum hashes the headers ReadHeaders reads (every x- header and the
// Anthropic family, names case-folded), independent of the map's order,
// and reports whether any quota header is present. It allocates nothing.
func quotaSum(h http.Header) (sum uint64, present bool) {
	for k, vs := range h {
		if isQuotaHeader(k) {
			present = true
		}
		if len(vs) == 0 || !(hasPrefixFold(k, "x-") || hasPrefixFold(k, anthropicPrefix)) {
			continue
		}
		// FNV-1a of name and value, summed: addition does not care in
		// which order the map hands the entries out.
		e := uint64(14695981039346656037)
		for i := 0; i < len(k); i++ {
			c := k[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			e = (e ^ uint64(c)) * 1099511628211
		}
		e = (e ^ ':') * 1099511628211
		v := vs[0]
		for i := 0; i < len(v); i++ {
			e = (e ^ uint64(v[i])) * 1099511628211
		}
		sum += e
	}
	return sum, present
}
