package quota

import (
	"net/http"
	"sync"
	"time"
)

// Reader is ReadHeaders for a stream of responses from one upstream. Under
// load they repeat the same quota headers, and a reading that says nothing
// new is not worth passing on: a response whose quota headers are those of
// the last reading, less than a second after it (so that a reset given in
// seconds-from-now cannot drift), is "nothing new" and costs a comparison
// instead of a parse. Readings are kept apart by a key (the account), so
// two accounts' identical numbers are both passed on. The zero value is
// ready; it is safe for concurrent use.
type Reader struct {
	mu   sync.Mutex // guards last
	last map[string]lastReading
}

type lastReading struct {
	// values are the headers ReadHeaders reads (quotaField), first value
	// each, by name as the response spelled it. A map is never changed
	// once stored: a new reading stores a new one.
	values map[string]string
	at     time.Time
}

// repeatFor is how long identical headers count as nothing new.
const repeatFor = time.Second

// Next reads h's quota like ReadHeaders, reporting false when h has none
// or repeats key's last reading within a second. Like ReadHeaders it
// allocates nothing then.
func (r *Reader) Next(key string, h http.Header, now time.Time) (Snapshot, bool) {
	if !Present(h) {
		return Snapshot{}, false
	}
	if r.repeats(key, h, now) {
		return Snapshot{}, false
	}
	values := make(map[string]string)
	for k, vs := range h {
		if len(vs) > 0 && quotaField(k) {
			values[k] = vs[0]
		}
	}
	r.mu.Lock()
	// Asked again under the lock that stores: of two responses bringing
	// the same news at once, one passes it on.
	if r.repeatsLocked(key, h, now) {
		r.mu.Unlock()
		return Snapshot{}, false
	}
	if r.last == nil {
		r.last = map[string]lastReading{}
	}
	r.last[key] = lastReading{values: values, at: now}
	r.mu.Unlock()
	return ReadHeaders(h, now)
}

// repeats reports whether h repeats key's last reading within a second.
func (r *Reader) repeats(key string, h http.Header, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.repeatsLocked(key, h, now)
}

func (r *Reader) repeatsLocked(key string, h http.Header, now time.Time) bool {
	last, seen := r.last[key]
	return seen && now.Sub(last.at) >= 0 && now.Sub(last.at) < repeatFor && sameFields(last.values, h)
}

// quotaField reports whether ReadHeaders reads header k: every x- header
// (a Codex family's length and reset travel beside its used-percent) and
// Anthropic's family.
func quotaField(k string) bool {
	return mayBeQuota(k) && (hasPrefixFold(k, "x-") || hasPrefixFold(k, anthropicPrefix))
}

// sameFields reports whether h's quota fields are exactly last's. It
// allocates nothing: a map lookup and a string comparison a field.
func sameFields(last map[string]string, h http.Header) bool {
	n := 0
	for k, vs := range h {
		if len(vs) == 0 || !quotaField(k) {
			continue
		}
		if v, ok := last[k]; !ok || v != vs[0] {
			return false
		}
		n++
	}
	return n == len(last)
}
