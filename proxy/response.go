package proxy

import (
	"net/http"

	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

// countUsage wraps a JSON or event-stream body so the token usage it
// reports is read as it passes. Other bodies (and a 101 upgrade, whose body
// must stay the raw connection) are left alone. So is a compressed body,
// whose bytes say nothing until inflated.
func (x *exchange) countUsage(resp *http.Response) {
	f := usage.FormatOf(resp.Header.Get("Content-Type"))
	if f == usage.None || resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return
	}
	x.counter.Reset(f)
	x.counted.Reset(resp.Body, &x.counter)
	x.respBody = &x.counted
	resp.Body = x.respBody
}
