package quota

import (
	"net/http"
	"sync"
	"time"
)

// Reader is ReadHeaders for a stream of responses from one upstream. Under
// load they repeat the same quota headers, and a reading that says nothing
// new is not worth passing on: a response whose quota headers hash like the
// last reading's, less than a second after it (so that a reset given in
// seconds-from-now cannot drift), is "nothing new" and costs a hash instead
// of a parse. Readings are kept apart by a key (the account), so two
// accounts' identical numbers are both passed on. The zero value is ready;
// it is safe for concurrent use.
type Reader struct {
	mu   sync.Mutex // guards last
	last map[string]lastReading
}

type lastReading struct {
	sum uint64
	at  time.Time
}

// repeatFor is how long identical headers count as nothing new.
const repeatFor = time.Second

// Next reads h's quota like ReadHeaders, reporting false when h has none
// or repeats key's last reading within a second. Like ReadHeaders it
// allocates nothing then.
func (r *Reader) Next(key string, h http.Header, now time.Time) (Snapshot, bool) {
	sum, any := quotaSum(h)
	if !any {
		return Snapshot{}, false
	}
	r.mu.Lock()
	last, seen := r.last[key]
	if seen && sum == last.sum && now.Sub(last.at) >= 0 && now.Sub(last.at) < repeatFor {
		r.mu.Unlock()
		return Snapshot{}, false
	}
	if r.last == nil {
		r.last = map[string]lastReading{}
	}
	r.last[key] = lastReading{sum: sum, at: now}
	r.mu.Unlock()
	return ReadHeaders(h, now)
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
