package ledger

import (
	"net/http"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// DefaultAccount is the account a record names when the proxy did not say
// which one it used: the provider's one login, before accounts existed.
const DefaultAccount = "default"

// Record is one proxied request as the ledger keeps it.
type Record struct {
	ID        int64 // assigned by the database; 0 before it is written
	Time      time.Time
	Provider  string
	Account   string
	Method    string
	Path      string // never the query
	Model     string
	Status    int
	Duration  time.Duration
	TTFB      time.Duration
	BytesIn   int64
	BytesOut  int64
	Retried   bool
	ErrorKind string // "" for success
	UsageSeen bool   // the response reported token usage
	Tokens    usage.Tokens
	// Detail is the request's headers and bodies, kept only with
	// [ledger] bodies = true; nil otherwise.
	Detail *Detail
}

// Failed reports whether the request counts as an error: an error status,
// or a response that broke off.
func (r Record) Failed() bool { return r.Status >= 400 || r.ErrorKind != "" }

// Detail is what was said in one exchange, beyond its counts. The writer
// masks every credential in the headers before they reach the disk,
// whatever the caller handed it.
type Detail struct {
	RequestHeader  http.Header
	RequestBody    []byte
	ResponseHeader http.Header
	ResponseBody   []byte
}
